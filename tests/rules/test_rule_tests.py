from pathlib import Path

from prunerr.rules import run_tests

RULE = """\
name: Never watched
media: movie
when: last_watched is null and added < 90 days ago
"""


def write(rules_dir: Path, tests: str) -> None:
    (rules_dir / "never.yaml").write_text(RULE)
    (rules_dir / "never.test.yaml").write_text(tests)


def test_cases_pass_and_fail_on_their_expectation(rules_dir: Path):
    write(
        rules_dir,
        """\
now: 2026-06-01
cases:
  - name: old and never watched
    item: {last_watched: null, added: 2026-01-01}
    expect: match
  - name: absent watch data is unknown, not never watched
    item: {added: 2026-01-01}
    expect: unknown
  - name: wrong on purpose
    item: {last_watched: 2026-05-01, added: 2026-01-01}
    expect: match
""",
    )
    run = run_tests([rules_dir])
    assert (run.passed, run.failed) == (2, 1)
    (failure,) = [r for r in run.results if not r.passed]
    assert (failure.rule_id, failure.case, failure.actual) == (
        "never",
        "wrong on purpose",
        "no_match",
    )
    assert "last_watched is null" in failure.explanation.render()


def test_fixture_items_are_type_checked_against_the_catalog(rules_dir: Path):
    write(
        rules_dir,
        """\
now: 2026-06-01
cases:
  - name: typo
    item: {last_wached: null, added: 2026-01-01}
    expect: match
  - name: bad value
    item: {last_watched: yesterday, added: 2026-01-01, resolution: 4k}
    expect: match
""",
    )
    run = run_tests([rules_dir])
    found = [(d.diagnostic.code, d.line) for d in run.diagnostics]
    assert found == [("T002", 4), ("T003", 7), ("T003", 7)]
    typo = run.diagnostics[0].diagnostic
    assert typo.message == "typo: unknown field `last_wached`"
    assert typo.hint == "did you mean `last_watched`?"  # on its own line, as E101's
    assert 'did you mean "2160p"' in " ".join(d.diagnostic.message for d in run.diagnostics)
    assert run.failed == 1 and not run.ok


def test_a_test_file_needs_its_rule_and_a_fixed_now(rules_dir: Path):
    (rules_dir / "orphan.test.yaml").write_text("now: 2026-01-01\ncases: []\n")
    (rules_dir / "never.yaml").write_text(RULE)
    (rules_dir / "never.test.yaml").write_text(
        "cases:\n  - {item: {added: 2026-01-01}, expect: unknown}\n"
    )
    run = run_tests([rules_dir])
    assert sorted(d.diagnostic.code for d in run.diagnostics) == ["T001", "T004"]
    assert run.failed == 2
