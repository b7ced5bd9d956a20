"""Generated sections of docs/benchmarks.md: each harness that writes one (bench/pipeline,
bench/failover) replaces its own section and leaves the rest of the doc as it is."""
from pathlib import Path

# Hand-written runtime figures start here; a section that is not in the doc yet goes before them.
RUNTIME_FIGURES = "## State that survives kill -9"


def splice(doc, figures, heading):
    """Puts `figures` (which start with `heading`) into the doc in place of the section under that
    heading, or before the hand-written runtime figures when it has none (bench/run.py keeps
    them in that order on its next full render)."""
    doc = Path(doc)
    text = doc.read_text() if doc.is_file() else ""
    if heading in text:
        before, after = text.split(heading, 1)
        following = after.find("\n## ")
        rest = after[following + 1:] if following >= 0 else ""
    else:
        anchor = text.find(RUNTIME_FIGURES)
        before, rest = (text[:anchor], text[anchor:]) if anchor >= 0 else (text, "")
    doc.write_text(before.rstrip("\n") + "\n\n" + figures.strip() + "\n\n" + rest)
