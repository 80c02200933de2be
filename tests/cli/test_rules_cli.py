import json
from pathlib import Path

import pytest

from prunerr.cli import main

GOOD = "name: big\nmedia: movie\nwhen: size > 20 GB\n"
BAD = "name: bad\nmedia: movie\nwhen: |\n  size > 20\n  and genres > 3\n"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_exits_0_on_valid_rules(capsys, rules_dir: Path):
    (rules_dir / "big.yaml").write_text(GOOD)
    code, out, err = run(capsys, "rules", "check", str(rules_dir))
    assert (code, out) == (0, "")
    assert "1 rule file(s) and 0 test file(s): 0 error(s), 0 warning(s)" in err


def test_check_prints_every_error_with_position_source_caret_and_hint(capsys, rules_dir):
    path = rules_dir / "bad.yaml"
    path.write_text(BAD)
    code, out, _ = run(capsys, "rules", "check", str(rules_dir))
    assert code == 1
    blocks = out.strip().split("\n\n")
    assert blocks[0].splitlines() == [
        f"{path}:4:3: error[E201]: cannot compare size with number using `>`",
        "4 |   size > 20",
        "      ^^^^^^^^^",
        "  hint: sizes take a unit: `20 GB` (GB = 1000^3 bytes, GiB = 1024^3)",
    ]
    assert blocks[1].startswith(f"{path}:5:7: error[E201]: cannot compare list[string]")


def test_check_json_lists_diagnostics_with_their_fields(capsys, rules_dir: Path):
    (rules_dir / "bad.yaml").write_text(BAD)
    code, out, _ = run(capsys, "rules", "check", "--format", "json", str(rules_dir))
    assert code == 1
    first = json.loads(out)[0]
    assert first == {
        "file": str(rules_dir / "bad.yaml"),
        "line": 4,
        "column": 3,
        "end_line": 4,
        "end_column": 12,
        "code": "E201",
        "severity": "error",
        "message": "cannot compare size with number using `>`",
        "hint": "sizes take a unit: `20 GB` (GB = 1000^3 bytes, GiB = 1024^3)",
    }


def test_check_defaults_to_the_rules_dir_from_the_environment(capsys, rules_dir, monkeypatch):
    (rules_dir / "bad.yaml").write_text(BAD)
    monkeypatch.setenv("PRUNERR_RULES_DIR", str(rules_dir))
    assert run(capsys, "rules", "check")[0] == 1


def test_test_command_ends_with_the_summary_line_and_fails_on_failures(capsys, rules_dir):
    (rules_dir / "big.yaml").write_text(GOOD)
    (rules_dir / "big.test.yaml").write_text(
        "now: 2026-01-01\ncases:\n"
        "  - {name: big, item: {size: 30 GB}, expect: match}\n"
        "  - {name: wrong, item: {size: 3 GB}, expect: match}\n"
        "  - {name: unknown size, item: {}, expect: unknown}\n"
    )
    code, out, _ = run(capsys, "rules", "test", str(rules_dir))
    assert code == 1
    assert out.splitlines()[0] == "FAIL big: wrong: expected match, got no_match"
    assert out.splitlines()[-1] == "2 passed, 1 failed"


def test_eval_prints_the_three_valued_result_first(capsys, tmp_path: Path):
    item = tmp_path / "item.json"
    item.write_text(json.dumps({"size": "25 GB", "added": "2024-01-01"}))
    expr = "size > 20 GB and last_watched ?? added < 6 months ago"
    assert run(capsys, "rules", "eval", expr, "--item", str(item))[1] == "unknown\n"
    item.write_text(json.dumps({"size": "25 GB", "added": "2024-01-01", "last_watched": None}))
    code, out, _ = run(
        capsys, "rules", "eval", expr, "--item", str(item), "--now", "2026-01-01", "--explain"
    )
    lines = out.splitlines()
    assert (code, lines[0]) == (0, "true")
    assert any(line.split() == ["null", "last_watched"] for line in lines)


def test_eval_reports_diagnostics_and_bad_items(capsys, tmp_path: Path):
    code, out, _ = run(capsys, "rules", "eval", "size > 20")
    assert code == 1 and out.startswith("<expr>:1:1: error[E201]")
    item = tmp_path / "item.yaml"
    item.write_text("size: lots\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["rules", "eval", "size > 20 GB", "--item", str(item)])
    assert exit_info.value.code == 1
    assert "error[T003]: `size`: expected a size" in capsys.readouterr().err


def test_eval_media_option_checks_fields_apply(capsys):
    code, out, _ = run(capsys, "rules", "eval", "season_count > 3", "--media", "movie")
    assert code == 1 and "error[E105]" in out


def test_explain_shows_the_rules_decision_for_an_item(capsys, rules_dir, tmp_path):
    (rules_dir / "big.yaml").write_text(GOOD)
    item = tmp_path / "item.json"
    item.write_text('{"size": "30 GB"}')
    code, out, _ = run(
        capsys, "rules", "explain", "big", "--item", str(item), "--rules-dir", str(rules_dir)
    )
    assert code == 0
    assert out.splitlines()[:2] == ["match  big (big)", "scope: movie -> true"]
    assert out.splitlines()[3].split() == ["30", "GB", "size"]


def test_fields_and_functions_list_the_catalog(capsys):
    fields = json.loads(run(capsys, "rules", "fields", "--format", "json")[1])
    by_name = {f["name"]: f for f in fields}
    assert by_name["last_watched"]["type"] == "datetime?"
    assert by_name["season_count"]["media"] == ["show"]
    functions = run(capsys, "rules", "functions")[1]
    assert "plays_by(string) -> number" in functions
