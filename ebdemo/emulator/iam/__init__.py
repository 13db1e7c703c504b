"""IAM on the emulator: each handler's own role credentials, and AWS's policy evaluation for
every call signed with them.

Pure, importable without moto (the general IAM document engine of ebdemo):
- `policy`: parse a policy document once (cached by its text) into matchable statements;
- `conditions`: the Condition operators;
- `evaluation`: AWS's evaluation logic over identity, resource and boundary policies;
- `operations`: an API request -> the (action, resource, context) AWS authorizes;
- `sigv4`: the access key, region and service of a signed request;
- `responses`: AccessDenied in each service's wire format, with AWS's message.
moto-facing:
- `credentials`: temporary credentials of a function's execution role (moto's STS);
- `authorizer`: the middleware's one call, `Authorizer.check(environ)`.
"""
