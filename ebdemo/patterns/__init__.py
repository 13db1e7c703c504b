"""EventBridge event patterns: validation and matching with AWS's semantics, and an indexed set.

The semantics are those of the EventBridge user guide ("Event patterns", "Content filtering in
Amazon EventBridge event patterns") and of aws/event-ruler, the library EventBridge matches
with. In short:

* A pattern is a JSON object. Each key names a field; its value is either a nested object
  (descend into the event) or a non-empty array of match values, any one of which may match
  (OR). All fields of an object must match (AND). `"$or": [{...}, {...}]` ORs sub-patterns.
* A match value is a string, number, boolean or null (exact match, types kept apart: `0` is not
  `false`, `"1"` is not `1`, `300` is `300.0`), or a one-key object naming an operator: `prefix`,
  `suffix` (each also as `{"equals-ignore-case": ...}`), `equals-ignore-case`, `wildcard`,
  `anything-but` (a value, a list, or `prefix`/`suffix`/`equals-ignore-case`/`wildcard`),
  `numeric`, `exists`, `cidr`.
* Arrays in the event match when any element matches; arrays of objects are descended into, and
  all fields a sub-pattern tests must come from the same array element ("array consistency",
  event-ruler's `rulesForJSONEvent`).
* Only leaves carry values: an empty array, an object, or nothing at all at a path all mean the
  field is absent, which only `{"exists": false}` matches (`anything-but` does not).
* Numeric matching (and `anything-but` numbers) is limited to -5e9..5e9 with six decimals;
  patterns outside are rejected, event numbers outside never match `numeric`.
* Validation follows event-ruler's JsonRuleCompiler, whose messages PutRule returns.

Each pattern compiles once into closures (no per-event interpretation of the JSON); a pattern
with `exists: false` under a possible array of objects falls back to event-ruler's own
algorithm there (see `_FlatMatcher`), as do patterns testing one object path both inside and
outside a `$or`: only those cases can tell the two apart.

Known, deliberate differences from event-ruler: a key containing a dot is not the same field
as the nested path it spells (the README says not to rely on that); a field tested both outside
and inside a `$or` branch must pass both tests (event-ruler's compiler keeps whichever comes
later in the text); `{"exactly": ...}`, which EventBridge does not document, is rejected; the
complexity limit on many wildcards is not checked.

Public API: `compile_pattern`, `matches`, `PatternSet`, `InvalidPatternError`.
"""

from __future__ import annotations

from ebdemo.patterns.index import PatternSet
from ebdemo.patterns.matcher import Pattern, compile_pattern, guard_paths, matches
from ebdemo.patterns.model import InvalidPatternError, Leaf, Matcher, Node, format_path, leaf_values

__all__ = [
    "InvalidPatternError",
    "Leaf",
    "Matcher",
    "Node",
    "Pattern",
    "PatternSet",
    "compile_pattern",
    "format_path",
    "guard_paths",
    "leaf_values",
    "matches",
]
