"""Lab 3 has nothing to plot: its "figures" are the lines that report a story's progress and timings.

Pure functions of tell_story's records (labs.story.experiment), shared by the tab and the CLI.
"""

from __future__ import annotations

from labs.story.config import LENGTHS


def stats_markdown(r: dict) -> str:
    """The tab's status line under the story: what is happening, then words, timings and seed."""
    if r["kind"] == "fetching":
        return "fetching the image…" if r["from_url"] else "captioning…"
    if r["kind"] == "image":
        return "captioning…"
    if r["kind"] == "loading":  # a first use: the models load (or download) once for everyone
        return r["status"]
    parts = [f"**{r['word_count']} words** after the prompt", f"caption {r['caption_seconds']:.1f} s"]
    if r["tokens"]:
        parts += [f"story {r['story_seconds']:.1f} s", f"{r['tokens_per_second']:.0f} tokens/s",
                  f"first token {r['first_token_seconds']:.2f} s"]
    parts.append(f"seed {r['seed']}")
    if r["load_seconds"] >= 0.5:
        parts.append(f"models loaded in {r['load_seconds']:.1f} s")
    budget = LENGTHS.get(r.get("length"))  # tokens the length preset allows
    if r["kind"] == "story" and budget and r["tokens_per_second"] > 0:
        left = max(budget - r["tokens"], 0) / r["tokens_per_second"]
        parts.insert(0, f"at most {left:.0f} s left")  # the token budget at this pace; an early end comes sooner
    if r["kind"] != "done":
        parts.insert(0, "generating…")
    elif r["stopped"]:
        parts.insert(0, "stopped")
    return " · ".join(parts)


def summary_text(r: dict) -> str:
    """The CLI's closing line for a finished story."""
    stopped = "stopped · " if r["stopped"] else ""
    return (f"({stopped}{r['word_count']} words after the prompt · caption {r['caption_seconds']:.1f} s · "
            f"story {r['story_seconds']:.1f} s · {r['tokens_per_second']:.0f} tokens/s · seed {r['seed']})")
