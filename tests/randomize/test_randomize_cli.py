"""`taperwise randomize list|minimise` CLI."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

REF = json.loads(
    (
        Path(__file__).resolve().parents[1] / "reference" / "randomize" / "trial_design_s1.json"
    ).read_text()
)["minimisation"]

LIST_ARGS = [
    "randomize",
    "list",
    "--arms",
    "KMC,BUP,PBO",
    "--ratio",
    "1:1:1",
    "--block-sizes",
    "3,6",
]


def test_list_json_contract(cli):
    code, out, err = cli(*LIST_ARGS, "--strata", "site=a,b", "--n", "60", "--seed", "11", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["seed"] == 11
    assert set(doc["entries"][0]) == {"sequence", "stratum", "block", "block_size", "arm"}
    assert {e["stratum"] for e in doc["entries"]} == {"site=a", "site=b"}
    rep = doc["report"]
    assert rep["seed"] == 11 and len(rep["sha256"]) == 64
    assert [s["stratum"] for s in rep["strata"]] == ["site=a", "site=b"]
    assert all(s["n_generated"] >= 60 for s in rep["strata"])
    code2, out2, _ = cli(*LIST_ARGS, "--strata", "site=a,b", "--n", "60", "--seed", "11", "--json")
    assert json.loads(out2)["entries"] == doc["entries"]


def test_list_two_strata_factors_and_out_file(cli, tmp_path):
    target = tmp_path / "list.csv"
    code, out, err = cli(
        *LIST_ARGS,
        "--strata",
        "site=a,b",
        "--strata",
        "sex=F,M",
        "--n",
        "12",
        "--seed",
        "3",
        "--out",
        str(target),
        "--json",
    )
    assert code == 0, err
    doc = json.loads(out)
    data = target.read_bytes()
    assert hashlib.sha256(data).hexdigest() == doc["report"]["sha256"]
    rows = list(csv.DictReader(data.decode().splitlines()))
    assert len(rows) == len(doc["entries"])
    assert rows[0]["stratum"] == "site=a|sex=F"


def test_list_plain_prints_csv(cli):
    code, out, _ = cli(*LIST_ARGS, "--n", "6", "--seed", "1")
    assert code == 0
    assert out.splitlines()[0] == "sequence,stratum,block,block_size,arm"


def test_list_bad_block_size_is_one_line_exit_2(cli):
    code, out, err = cli(
        "randomize",
        "list",
        "--arms",
        "KMC,BUP,PBO",
        "--ratio",
        "2:2:1",
        "--block-sizes",
        "3,6",
        "--n",
        "60",
        "--seed",
        "11",
        "--json",
    )
    assert code == 2 and out == ""
    assert err.strip() == (
        "block size 3 is not a multiple of the ratio sum 5 (ratio 2:2:1); "
        "allowed sizes are multiples of 5: 5, 10, 15, ..."
    )


def test_list_bad_ratio_text(cli):
    code, _, err = cli(
        *LIST_ARGS[:4], "--ratio", "1:x:1", "--block-sizes", "3", "--n", "3", "--seed", "1"
    )
    assert code == 2 and "ratio: 'x' is not an integer" in err


def _write_minimisation_csv(path: Path) -> None:
    factors, arms = REF["factors"], REF["arms"]
    counts = REF["counts_at_new_levels"]
    rows = []
    for k, arm in enumerate(arms):
        for i in range(max(row[k] for row in counts)):
            levels = [
                REF["new_patient"][f] if i < counts[m][k] else REF["other_level"][f]
                for m, f in enumerate(factors)
            ]
            rows.append([f"P{len(rows) + 1:03d}", *levels, arm])
    rows.append(["NEW", *[REF["new_patient"][f] for f in factors], ""])
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["participant", *factors, "arm"])
        writer.writerows(rows)


def _factor_args() -> list[str]:
    args = []
    for f in REF["factors"]:
        levels = sorted({REF["new_patient"][f], REF["other_level"][f]})
        args += ["--factor", f"{f}={','.join(levels)}"]
    return args


def test_minimise_reproduces_reference_vector(cli, tmp_path):
    path = tmp_path / "people.csv"
    _write_minimisation_csv(path)
    case = REF["cases"][1]  # range, weights 2,1,1,0.5
    weights = [f"{f}={w}" for f, w in zip(REF["factors"], case["weights"], strict=True)]
    code, out, err = cli(
        "randomize",
        "minimise",
        "--arms",
        "A,B,C",
        *_factor_args(),
        *[x for w in weights for x in ("--weight", w)],
        "--participants",
        str(path),
        "--seed",
        "9",
        "--json",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["n_history"] == 13
    (row,) = doc["assignments"]
    assert row["participant"] == "NEW"
    assert [row["scores"][a] for a in "ABC"] == case["scores"]
    assert [row["probabilities"][a] for a in "ABC"] == case["probabilities"]
    assert row["preferred"] == ["B"]


def test_minimise_bad_level_names_file_and_line(cli, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("participant,sex\nP1,F\nP2,X\n")
    code, _, err = cli(
        "randomize",
        "minimise",
        "--arms",
        "A,B",
        "--factor",
        "sex=F,M",
        "--participants",
        str(path),
        "--seed",
        "1",
    )
    assert code == 2
    assert err.strip() == f"{path}:3: sex 'X' not allowed; allowed F, M"


def test_minimise_plain_output_and_out(cli, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("participant,sex\n" + "".join(f"P{i},{'FM'[i % 2]}\n" for i in range(10)))
    target = tmp_path / "alloc.csv"
    code, out, err = cli(
        "randomize",
        "minimise",
        "--arms",
        "A,B",
        "--factors",
        "sex=F,M",
        "--method",
        "sd",
        "--p-best",
        "0.85",
        "--participants",
        str(path),
        "--seed",
        "2",
        "--out",
        str(target),
    )
    assert code == 0, err
    assert len(out.splitlines()) == 10
    assert target.read_text().splitlines()[0] == "participant,position,arm,draw,G_A,G_B,P_A,P_B"
