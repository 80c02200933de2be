from pathlib import Path

from prunerr.dsl import UNKNOWN, EvalContext
from prunerr.dsl.units import DAY
from prunerr.rules import load_rules, parse_rule

RULE = """\
name: Big old movies
media: movie
libraries: [Movies, "4K Movies"]
when: |
  size > 20 GB
  and last_watched ?? added < 6 months ago
grace_period: 2 weeks
priority: 10
"""


def codes(result):
    return [(d.diagnostic.code, d.line, d.column) for d in result.diagnostics]


def test_rule_file_values_are_read_with_defaults():
    result = parse_rule(RULE, "rules.d/movies/big.yaml", "movies/big")
    assert result.diagnostics == []
    (rule,) = result.rules
    assert rule.id == "movies/big"
    assert rule.libraries == ("Movies", "4K Movies")
    assert rule.grace_period == 14 * DAY
    assert rule.priority == 10
    assert rule.kind == "delete"
    assert rule.deletion_action == "unmonitor_and_delete"
    assert rule.enabled is True and rule.schedule is None


def test_errors_inside_a_when_block_point_at_the_yaml_line_and_column():
    text = "name: x\nmedia: movie\nwhen: |\n  size > 20 GB\n  and lsat_watched < now\n"
    result = parse_rule(text, "r.yaml", "r")
    assert codes(result) == [("E101", 5, 7)]
    located = result.diagnostics[0]
    assert located.source_line == "  and lsat_watched < now"
    assert "did you mean `last_watched`" in located.diagnostic.hint
    assert result.rules == []


def test_errors_in_plain_and_quoted_when_values_are_located():
    plain = parse_rule("name: x\nmedia: movie\nwhen: size > 20\n", "r.yaml", "r")
    assert codes(plain) == [("E201", 3, 7)]
    quoted = parse_rule(
        "name: x\nmedia: movie\nwhen: 'title == \"a\" and size > 5'\n", "r.yaml", "r"
    )
    assert codes(quoted) == [("E201", 3, 25)]
    folded = parse_rule(
        "name: x\nmedia: movie\nwhen: >\n  size > 5 GB and\n  yeer > 2000\n", "r.yaml", "r"
    )
    assert codes(folded) == [("E101", 5, 3)]


def test_unknown_missing_duplicate_and_invalid_keys_are_all_reported():
    text = (
        "name: x\nnmae: y\nmedia: film\ngrace_period: 7\npriority: 500\n"
        "schedule: every day\nname: z\n"
    )
    result = parse_rule(text, "r.yaml", "r")
    assert [(code, line) for code, line, _ in codes(result)] == [
        ("R002", 1),
        ("R003", 2),
        ("R004", 3),
        ("R004", 4),
        ("R004", 5),
        ("R004", 6),
        ("R005", 7),
    ]
    messages = " ".join(d.diagnostic.message + str(d.diagnostic.hint) for d in result.diagnostics)
    assert "did you mean `name`" in messages
    assert "missing required key `when`" in messages


def test_invalid_yaml_is_reported_at_its_position():
    result = parse_rule("name: x\nmedia: movie\nwhen: [a\n", "r.yaml", "r")
    assert [c for c, _, _ in codes(result)] == ["R001"]
    assert result.rules == []


def test_protect_rules_reject_deletion_options():
    text = (
        'name: keep\nmedia: movie\nkind: protect\nwhen: tags contains "keep"\n'
        "deletion_action: full_removal\n"
    )
    assert codes(parse_rule(text, "r.yaml", "r")) == [("R004", 5, 18)]


def test_media_type_is_checked_against_the_fields_the_rule_uses():
    text = 'name: x\nmedia: movie\nwhen: series_status == "ended"\n'
    assert [c for c, _, _ in codes(parse_rule(text, "r.yaml", "r"))] == ["E105"]


def test_scope_limits_rules_to_their_media_type_and_libraries():
    (rule,) = parse_rule(RULE, "r.yaml", "r").rules
    ctx = EvalContext.current()
    item = {
        "type": "movie",
        "library": "4k movies",
        "size": 30 * 10**9,
        "last_watched": None,
        "added": 0.0,
    }
    assert rule.evaluate(item, ctx) is True
    assert rule.evaluate({**item, "library": "TV"}, ctx) is False
    assert rule.evaluate({**item, "type": "show"}, ctx) is False
    unknown_library = {k: v for k, v in item.items() if k != "library"}
    assert rule.evaluate(unknown_library, ctx) is UNKNOWN


def test_rule_ids_are_paths_under_the_rules_directory(rules_dir: Path):
    (rules_dir / "movies").mkdir()
    (rules_dir / "movies" / "big.yaml").write_text(RULE)
    (rules_dir / "movies" / "big.test.yaml").write_text("now: 2026-01-01\ncases: []\n")
    result = load_rules([rules_dir])
    assert [r.id for r in result.rules] == ["movies/big"]


def test_the_same_id_twice_is_an_error(rules_dir: Path):
    (rules_dir / "a.yaml").write_text(RULE)
    (rules_dir / "a.yml").write_text(RULE)
    result = load_rules([rules_dir])
    assert len(result.rules) == 1
    assert [d.diagnostic.code for d in result.errors] == ["R004"]


PROTECT = 'name: keep\nkind: protect\nmedia: movie\nwhen: labels contains "keep"\n'


def test_a_defect_while_loading_one_rule_is_r000_and_the_others_still_load(tmp_path, monkeypatch):
    import prunerr.rules.model as model

    (tmp_path / "keep.yaml").write_text(PROTECT)
    (tmp_path / "other.yaml").write_text(RULE)
    real = model.compile_condition

    def failing(text, *args, **kwargs):
        if "keep" in text:
            raise RecursionError("maximum recursion depth exceeded")
        return real(text, *args, **kwargs)

    monkeypatch.setattr(model, "compile_condition", failing)
    result = load_rules([tmp_path])
    assert [r.id for r in result.rules] == ["other"]
    assert [d.diagnostic.code for d in result.errors] == ["R000"]
    ((broken),) = result.broken
    assert (broken.id, broken.kind, broken.stops_deletion) == ("keep", None, True)


def test_what_a_broken_rule_file_says_of_its_kind_decides_whether_it_stops_deletion(tmp_path):
    files = {
        "delete-typo": RULE.replace("size >", "sise >"),  # known delete rule
        "protect-typo": PROTECT.replace("labels", "lables"),
        "disabled": PROTECT.replace("labels", "lables") + "enabled: false\n",
        "misspelt-key": PROTECT.replace("kind:", "knid:"),  # may have meant protect
        "not-yaml": "name: [unclosed\n",
    }
    for name, text in files.items():
        (tmp_path / f"{name}.yaml").write_text(text)
    (tmp_path / "not-utf8.yaml").write_bytes(b"name: \xff\xfe\n")
    broken = {b.id: b.stops_deletion for b in load_rules([tmp_path]).broken}
    assert broken == {
        "delete-typo": False,
        "protect-typo": True,
        "disabled": False,
        "misspelt-key": True,
        "not-yaml": True,
        "not-utf8": True,
    }
