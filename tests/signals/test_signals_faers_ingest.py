"""FAERS quarterly ASCII ingest on small files written here (real quarters are not offline)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from taperwise.errors import DataFileError
from taperwise.signals.faers import ingest_faers, parse_faers_file

LEGACY_DEMO = (
    "ISR$CASE$I_F_COD$FOLL_SEQ$IMAGE$EVENT_DT$MFR_DT$FDA_DT$REPT_COD$MFR_NUM$MFR_SNDR$AGE$AGE_COD$GNDR_COD$E_SUB$WT$WT_COD$REPT_DT$OCCP_COD$DEATH_DT$TO_MFR$CONFID$REPORTER_COUNTRY\n"
    "5000001$400001$I$$img$20110101$$20110105$EXP$$$45$YR$M$Y$$$20110105$MD$$$$US$\n"
    "5000002$400002$I$$img$20110101$$20110106$EXP$$$30$YR$F$Y$$$20110106$MD$$$$US$\n"
    "5000003$400003$I$$img$20110101$$20110107$DIR$$$50$YR$F$Y$$$20110107$CN$$$$US$\n"
)
LEGACY_DRUG = (
    "ISR$DRUG_SEQ$ROLE_COD$DRUGNAME$VAL_VBM$ROUTE$DOSE_VBM$DECHAL$RECHAL$LOT_NUM$EXP_DT$NDA_NUM\n"
    "5000001$1$PS$KRATOM$2$ORAL$$$$$$$\n"
    "5000001$2$C$ASPIRIN$1$ORAL$$$$$$$\n"
    "5000002$1$PS$IBUPROFEN$1$ORAL$$$$$$$\n"
    "5000003$1$SS$Ketum powder$2$ORAL$$$$$$$\n"
)
LEGACY_REAC = "ISR$PT\n5000001$Nausea$\n5000001$Vomiting$\n5000002$Headache$\n5000003$Nausea$\n"

FAERS_DEMO = (
    "primaryid$caseid$caseversion$i_f_code$event_dt$mfr_dt$init_fda_dt$fda_dt$rept_cod$auth_num$mfr_num$mfr_sndr$lit_ref$age$age_cod$age_grp$sex$e_sub$wt$wt_cod$ rept_dt$to_mfr$occp_cod$reporter_country$occr_country\n"
    # case 600001 v1 (superseded by v2 in the next quarter), case 600002 v1, case 600003 (deleted)
    "6000011$600001$1$I$20121001$$20121005$20121005$EXP$$$$$40$YR$A$M$Y$$$20121005$$MD$US$US\n"
    "6000021$600002$1$I$20121001$$20121006$20121006$EXP$$$$$60$YR$E$F$Y$$$20121006$$MD$US$US\n"
    "6000031$600003$1$I$20121001$$20121007$20121007$EXP$$$$$22$YR$A$M$Y$$$20121007$$MD$US$US\n"
    # a legacy case re-reported as FAERS version 2: newer than ISR 5000002
    "4000022$400002$2$F$20110101$$20110106$20121008$EXP$$$$$30$YR$A$F$Y$$$20121008$$MD$US$US\n"
)
FAERS_DRUG = (
    "\ufeffprimaryid$caseid$drug_seq$role_cod$drugname$prod_ai$val_vbm$route$dose_vbm$cum_dose_chr$cum_dose_unit$dechal$rechal$lot_num$exp_dt$nda_num$dose_amt$dose_unit$dose_form$dose_freq\n"
    "6000011$600001$1$PS$RED BALI$MITRAGYNA SPECIOSA LEAF$2$ORAL$$$$$$$$$$$$\n"
    "6000011$600001$2$SS$CITROMA$MAGNESIUM CITRATE$1$ORAL$$$$$$$$$$$$\n"
    "6000021$600002$1$PS$TYLENOL$ACETAMINOPHEN$1$ORAL$$$$$$$$$$$$\n"
    "6000031$600003$1$PS$CAF\u00c9 KRATOM$$2$ORAL$$$$$$$$$$$$\n"
    "4000022$400002$1$PS$ADVIL$IBUPROFEN$1$ORAL$$$$$$$$$$$$\n"
)
FAERS_REAC = (
    "primaryid$caseid$pt$drug_rec_act\n"
    "6000011$600001$Nausea$\n6000011$600001$Diarrhoea$\n6000021$600002$Hepatotoxicity$\n"
    "6000031$600003$Seizure$\n4000022$400002$Headache$\n4000022$400002$Dizziness$\n"
)
NEXT_DEMO = (
    "primaryid$caseid$caseversion$i_f_code$event_dt$mfr_dt$init_fda_dt$fda_dt$rept_cod$auth_num$mfr_num$mfr_sndr$lit_ref$age$age_cod$age_grp$sex$e_sub$wt$wt_cod$rept_dt$to_mfr$occp_cod$reporter_country$occr_country\n"
    "6000012$600001$2$F$20121001$$20121005$20130110$EXP$$$$$40$YR$A$M$Y$$$20130110$$MD$US$US\n"
)
NEXT_DRUG = (
    "primaryid$caseid$drug_seq$role_cod$drugname$prod_ai$val_vbm$route$dose_vbm$cum_dose_chr$cum_dose_unit$dechal$rechal$lot_num$exp_dt$nda_num$dose_amt$dose_unit$dose_form$dose_freq\n"
    "6000012$600001$1$PS$RED BALI$MITRAGYNA SPECIOSA LEAF$2$ORAL$$$$$$$$$$$$\n"
)
NEXT_REAC = "primaryid$caseid$pt$drug_rec_act\n6000012$600001$Nausea$\n6000012$600001$Seizure$\n"


def write_faers(root: Path, *, malformed: bool = False) -> Path:
    """Three quarters: legacy AERS 2011Q4 (stray $), FAERS 2012Q4 (BOM, Latin-1, ' rept_dt'), 2013Q1."""
    q1 = root / "aers_ascii_2011q4" / "ascii"
    q2 = root / "faers_ascii_2012q4" / "ASCII"
    q3 = root / "faers_ascii_2013q1" / "ascii"
    for q in (q1, q2, q3):
        q.mkdir(parents=True)
    (q1 / "DEMO11Q4.TXT").write_text(LEGACY_DEMO, encoding="utf-8")
    (q1 / "DRUG11Q4.TXT").write_text(LEGACY_DRUG, encoding="utf-8")
    (q1 / "REAC11Q4.TXT").write_text(LEGACY_REAC, encoding="utf-8")
    (q2 / "DEMO12Q4.TXT").write_text(FAERS_DEMO, encoding="utf-8")
    drug = FAERS_DRUG.encode("utf-8").replace("\ufeff".encode(), b"\xef\xbb\xbf")
    drug = drug.replace(
        "CAF\u00c9".encode("utf-8"), "CAF\u00c9".encode("latin-1")
    )  # a Latin-1 file with a BOM'd header
    if malformed:
        # two records run together on one line (2011Q2-Q4 DRUG pitfall)
        drug += b"6000021$600002$2$C$X$Y$1$ORAL$$$$$$$$$$$$6000021$600002$3$C$Z$W$1$ORAL$$$$$$$$$$$$\r\n"
    (q2 / "drug12q4.txt").write_bytes(drug)
    (q2 / "REAC12Q4.TXT").write_text(FAERS_REAC.replace("\n", "\r\n"), encoding="utf-8")
    (q3 / "DEMO13Q1.TXT").write_text(NEXT_DEMO, encoding="utf-8")
    (q3 / "DRUG13Q1.TXT").write_text(NEXT_DRUG, encoding="utf-8")
    (q3 / "REAC13Q1.TXT").write_text(NEXT_REAC, encoding="utf-8")
    (q3 / "OUTC13Q1.TXT").write_text(
        "primaryid$caseid$outc_cod\n6000012$600001$HO\n", encoding="utf-8"
    )
    deleted = root / "faers_ascii_2013q1" / "Deleted"
    deleted.mkdir()
    (deleted / "DELETE13Q1.txt").write_text("600003\n\n", encoding="utf-8")
    return root


def test_ingest_keeps_latest_version_and_drops_deleted(tmp_path):
    src = write_faers(tmp_path / "faers")
    out = tmp_path / "ds"
    report = ingest_faers(src, out)
    assert report.report_versions == 8
    assert report.latest_versions == 6  # cases 400001-3, 600001-3
    assert report.deleted_listed == 1
    assert report.reports == 5
    demo = pd.read_parquet(out / "demo.parquet")
    assert sorted(demo.primaryid) == ["4000022", "5000001", "5000003", "6000012", "6000021"]
    # legacy rename: gndr_cod -> sex, isr -> primaryid, case -> caseid
    assert demo.set_index("primaryid").loc["5000001", "sex"] == "M"
    assert "rept_dt" in demo.columns  # " rept_dt" header stripped
    drug = pd.read_parquet(out / "drug.parquet")
    # child rows of superseded versions are gone (6000011 and 5000002)
    assert set(drug.primaryid) == {"4000022", "5000001", "5000003", "6000012", "6000021"}
    by_id = drug.set_index(["primaryid", "drug_seq"])["drug"]
    assert by_id[("6000012", "1")] == "KRATOM"  # prod_ai MITRAGYNA SPECIOSA LEAF
    assert by_id[("5000003", "1")] == "KRATOM"  # drugname 'Ketum powder'
    assert by_id[("5000001", "1")] == "KRATOM"
    assert by_id[("4000022", "1")] == "IBUPROFEN"  # prod_ai preferred over ADVIL
    reac = pd.read_parquet(out / "reac.parquet")
    assert sorted(reac[reac.primaryid == "6000012"].pt) == ["Nausea", "Seizure"]
    assert reac.pt.str.endswith("$").sum() == 0  # stray legacy $ removed
    assert (out / "outc.parquet").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["source"] == "faers"
    encodings = {Path(f["path"]).name: f["encoding"] for f in manifest["ingest"]["files"]}
    assert encodings["drug12q4.txt"] == "latin-1"
    repaired = {
        Path(f["path"]).name: f["repaired_trailing_dollar"] for f in manifest["ingest"]["files"]
    }
    assert repaired["REAC11Q4.TXT"] == 4


def test_latin1_value_is_decoded(tmp_path):
    src = write_faers(tmp_path / "faers")
    header, chunks, rep = parse_faers_file(next(src.rglob("drug12q4.txt")))
    rows = [c for c in chunks]
    assert "CAF\u00c9 KRATOM" in rows[0]["drugname"]
    assert header[0] == "primaryid"  # BOM stripped
    assert rep.encoding == "latin-1"


def test_malformed_line_fails_with_file_and_line(tmp_path):
    src = write_faers(tmp_path / "faers", malformed=True)
    with pytest.raises(
        DataFileError, match=r"drug12q4\.txt:7: expected 20 '\$'-separated fields, got 39"
    ):
        ingest_faers(src, tmp_path / "ds")


def test_malformed_line_skipped_and_counted(tmp_path):
    src = write_faers(tmp_path / "faers", malformed=True)
    report = ingest_faers(src, tmp_path / "ds", on_error="skip")
    assert report.skipped_lines == 1
    bad = [f for f in report.files if f.skipped]
    assert len(bad) == 1 and "drug12q4.txt:7" in bad[0].first_errors[0]


def test_missing_files_are_reported(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFileError, match="no DEMO"):
        ingest_faers(tmp_path / "empty", tmp_path / "ds")
    with pytest.raises(DataFileError, match="not found"):
        ingest_faers(tmp_path / "nope", tmp_path / "ds")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "DEMO12Q4.TXT").write_text("foo$bar\n1$2\n")
    (bad / "DRUG12Q4.TXT").write_text("primaryid$role_cod\n")
    (bad / "REAC12Q4.TXT").write_text("primaryid$pt\n")
    with pytest.raises(DataFileError, match=r"DEMO12Q4\.TXT:1: header has no primaryid"):
        ingest_faers(bad, tmp_path / "ds")


def test_deleted_list_bad_line(tmp_path):
    src = write_faers(tmp_path / "faers")
    (src / "faers_ascii_2013q1" / "Deleted" / "DELETE13Q1.txt").write_text("600003\nnot-an-id\n")
    with pytest.raises(DataFileError, match=r"DELETE13Q1\.txt:2"):
        ingest_faers(src, tmp_path / "ds")
    report = ingest_faers(src, tmp_path / "ds2", on_error="skip")
    assert report.skipped_lines == 1
