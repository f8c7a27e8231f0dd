"""The self-hosted compiler (bootstrap/*.syn) verified as a whole, as CI runs it.

`bootstrap/main.syn` imports every module of the self-hosted compiler, so one verification of
it proves every function once. A failed obligation is a run-time check of the compiler that the
verifier could not show always passes: an index, a division, a `pop`, a `panic`, a callee's
`requires`. Those known today are listed in `bootstrap_unproved.txt`, one per line with the
reason it is not proved; any other failure fails this test. The list may only shrink: a line
that no longer matches a failure fails the test too, asking for its removal (as
tests/bootstrap/skip.txt does for the corpus). An entry names the obligation by its function,
its kind and the source text at its place, not by line numbers, so that edits elsewhere in a
file do not disturb it. Proofs may not regress either: at least `MIN_PROVED` obligations must
be proved.

The verification runs cold (a cache of its own) and without replays, in as many processes as
the machine gives (spec 11.7: the report is the same for any number).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("z3")

from synapse.compiler.verify import ObligationResult, VerifyCache, verify_file  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
ENTRY = ROOT / "bootstrap" / "main.syn"
ALLOWLIST = HERE / "bootstrap_unproved.txt"

# Obligations of the self-hosted compiler proved today; raise it as proofs land.
MIN_PROVED = 781

_report = None


def bootstrap_report():
    """One cold verification of the whole self-hosted compiler, shared by the tests."""
    global _report
    if _report is None:
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            _report = verify_file(str(ENTRY), cache=VerifyCache(Path(tmp) / "verify"),
                                  read_cache=False, replay=False)
    return _report


def snippet(o: ObligationResult, sources: dict[str, str]) -> str:
    """The source text at the obligation's place (its first line, blanks collapsed)."""
    lines = sources.get(o.file, "").split("\n")
    if not 1 <= o.line <= len(lines):
        return "?"
    text = lines[o.line - 1]
    end = o.end_col - 1 if o.end_line == o.line else len(text)
    return re.sub(r"\s+", " ", text[o.col - 1:end].strip()) or "?"


def entry_key(o: ObligationResult, sources: dict[str, str]) -> tuple[str, str, str]:
    return (o.function, o.kind, snippet(o, sources))


def read_allowlist() -> dict[tuple[str, str, str], tuple[int, str]]:
    """(function, kind, source text) -> (how many such obligations, reason)."""
    out: dict[tuple[str, str, str], tuple[int, str]] = {}
    for number, line in enumerate(ALLOWLIST.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split(" | ")]
        assert len(fields) >= 4, f"{ALLOWLIST.name}:{number}: FUNCTION | KIND | TEXT | REASON"
        # The source text may hold " | " itself; the reason may not.
        function, kind, reason = fields[0], fields[1], fields[-1]
        key = (function, kind, " | ".join(fields[2:-1]))
        count, _ = out.get(key, (0, ""))
        out[key] = (count + 1, reason)
    return out


def allowlist_line(key: tuple[str, str, str]) -> str:
    return " | ".join(key) + " | REASON"


def test_the_whole_compiler_is_verified_in_one_run() -> None:
    report = bootstrap_report()
    assert not report.diagnostics, [d.message for d in report.diagnostics]
    modules = {f.name.rsplit(".", 1)[0] for f in report.functions}
    expected = {p.stem for p in (ROOT / "bootstrap").glob("*.syn")}
    assert expected <= modules, sorted(expected - modules)
    assert len({f.name for f in report.functions}) == len(report.functions)
    assert all(o.result != "unsupported" for o in report.obligations), \
        [(o.function, o.reason) for o in report.obligations if o.result == "unsupported"]


def test_no_failure_outside_the_allowlist() -> None:
    report = bootstrap_report()
    failed = Counter(entry_key(o, report.sources) for o in report.obligations
                     if o.result == "failed")
    allowed = read_allowlist()
    new = [allowlist_line(k) for k, n in sorted(failed.items())
           if n > allowed.get(k, (0, ""))[0]]
    assert not new, "obligations of the self-hosted compiler that fail:\n" + "\n".join(new)


def test_allowlist_only_shrinks() -> None:
    report = bootstrap_report()
    failed = Counter(entry_key(o, report.sources) for o in report.obligations
                     if o.result == "failed")
    stale = [" | ".join(k) for k, (n, _) in sorted(read_allowlist().items())
             if failed.get(k, 0) < n]
    assert not stale, (f"now proved (or gone): remove from {ALLOWLIST.name}:\n"
                       + "\n".join(stale))


def test_every_allowlisted_failure_has_a_reason() -> None:
    assert all(len(reason) > 10 and reason != "REASON"
               for _, reason in read_allowlist().values())


def test_proofs_do_not_regress() -> None:
    proved = sum(1 for o in bootstrap_report().obligations if o.result == "proved")
    assert proved >= MIN_PROVED, proved
