"""First smoke tests of the pattern engine; the full suite is in test_patterns.py."""

from ebdemo.patterns import InvalidPatternError, PatternSet, compile_pattern, matches

EVENT = {
    "source": "aws.ec2",
    "detail-type": "EC2 Instance State-change Notification",
    "detail": {"state": "running", "n": 300.0},
}


def test_common_operators_and_set():
    assert matches({"source": ["aws.ec2"]}, EVENT)
    assert matches('{"detail": {"n": [300]}}', EVENT)
    assert compile_pattern({"detail": {"state": [{"prefix": "run"}]}}).matches(EVENT)
    rules = PatternSet({"a": {"source": ["aws.ec2"]}, "b": {"source": ["aws.s3"]}})
    assert rules.matching(EVENT) == ["a"]


def test_invalid_pattern_names_path():
    try:
        compile_pattern({"detail": {"amount": [{"numeric": [">"]}]}})
    except InvalidPatternError as exc:
        assert str(exc) == 'detail.amount: numeric expects a number after ">"'
        assert exc.path == ("detail", "amount")
        assert exc.exit_code == 2
        assert isinstance(exc, ValueError)
    else:
        raise AssertionError("accepted")
