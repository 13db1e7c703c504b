"""Temporary credentials of a function's execution role, as Lambda hands them to a handler.

Lambda assumes the execution role with the function's name as the session name and puts the
session's `AWS_ACCESS_KEY_ID` (`ASIA...`), `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` in
the environment. Here they are minted by moto's STS backend (so `GetCallerIdentity` answers
`arn:aws:sts::<acct>:assumed-role/<role>/<function>`) and recorded in this store, which is the
authorizer's list of keys to enforce: every other key (the emulator's dummy `testing`
credentials, the user's own) stays unrestricted. Environments of one function share its
credentials until they come near their expiry or the role is replaced.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ebdemo.emulator.locking import backend_lock

if TYPE_CHECKING:
    from ebdemo.emulator.functions import FunctionSnapshot

SESSION_SECONDS = 12 * 3600  # the longest an execution role session lasts
RENEW_BEFORE_SECONDS = 3600  # a new environment gets fresh credentials this close to expiry


@dataclass(frozen=True)
class IssuedCredentials:
    access_key_id: str
    secret_access_key: str
    session_token: str
    expires_at: float  # epoch seconds
    issued_at: float
    account: str
    role_arn: str
    role_id: str  # the role's unique id (AROA...): a role deleted and re-created is another
    role_name: str
    session_name: str
    function_arn: str

    @property
    def session_arn(self) -> str:
        return f"arn:aws:sts::{self.account}:assumed-role/{self.role_name}/{self.session_name}"

    def environment(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
        }


class CredentialStore:
    """Issues role credentials for functions and recognises them on requests."""

    def __init__(self, session_seconds: int = SESSION_SECONDS) -> None:
        self.session_seconds = session_seconds
        self._lock = threading.Lock()
        self._by_key: dict[str, IssuedCredentials] = {}
        self._by_function: dict[tuple[str, str], IssuedCredentials] = {}

    def lookup(self, access_key_id: str) -> IssuedCredentials | None:
        return self._by_key.get(access_key_id)  # a dict read: the unrestricted fast path

    def environment_for(self, fn: FunctionSnapshot) -> Mapping[str, str]:
        """The three AWS_* variables of a new execution environment of `fn`."""
        return self.issue(fn).environment()

    def issue(self, fn: FunctionSnapshot) -> IssuedCredentials:
        with backend_lock.hold():
            role_id, role_name = _role_identity(fn.role, fn.account)
            key = (fn.arn, fn.role)
            with self._lock:
                current = self._by_function.get(key)
            if (
                current is not None
                and current.role_id == role_id
                and current.expires_at - time.time() > RENEW_BEFORE_SECONDS
            ):
                return current
            issued = self._mint(fn, role_id, role_name)
        with self._lock:
            self._by_key[issued.access_key_id] = issued
            self._by_function[key] = issued
        return issued

    def _mint(self, fn: FunctionSnapshot, role_id: str, role_name: str) -> IssuedCredentials:
        from moto.sts.models import sts_backends

        backend = sts_backends[fn.account]["aws"]
        session = backend.assume_role(
            region_name=fn.region,
            role_session_name=fn.name,
            role_arn=fn.role,
            policy=None,
            duration=self.session_seconds,
            external_id=None,
        )
        now = time.time()
        return IssuedCredentials(
            access_key_id=session.access_key_id,
            secret_access_key=session.secret_access_key,
            session_token=session.session_token,
            expires_at=now + self.session_seconds,
            issued_at=now,
            account=session.account_id,
            role_arn=fn.role,
            role_id=role_id,
            role_name=role_name,
            session_name=fn.name,
            function_arn=fn.arn,
        )

    def reset(self) -> None:
        with self._lock:
            self._by_key.clear()
            self._by_function.clear()


def _role_identity(role_arn: str, account: str) -> tuple[str, str]:
    """(unique id, name) of the role now behind `role_arn`; ("", name) if there is none."""
    from moto.iam.models import iam_backends

    name = role_arn.rsplit("/", 1)[-1]
    owner = role_arn.split(":")[4] if role_arn.count(":") >= 5 else account
    try:
        role = iam_backends[owner or account]["aws"].get_role_by_arn(role_arn)
    except Exception:  # moto's NotFoundException: a function whose role is gone
        return "", name
    return str(role.id), str(role.name)
