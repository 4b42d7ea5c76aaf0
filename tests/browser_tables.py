"""Reading a gr.Dataframe as a user sees it, for the browser tests."""

# the visible body rows of a gr.Dataframe (cells grouped by their height on the page: Gradio layers its rows)
_ROWS = """id => {
    const rows = new Map();
    for (const td of document.querySelectorAll(`#${id} [role=gridcell]`)) {
        const box = td.getBoundingClientRect();
        if (box.height === 0 || box.width === 0) continue;
        const key = Math.round(box.top);
        if (!rows.has(key)) rows.set(key, []);
        rows.get(key).push([box.left, td.textContent.trim()]);
    }
    return [...rows.entries()].sort((a, b) => a[0] - b[0])
        .map(([, cells]) => cells.sort((a, b) => a[0] - b[0]).map(c => c[1]));
}"""


def table_rows(page, elem_id: str, skip_blank: bool = False) -> list[list[str]]:
    """The visible body rows of the table `elem_id`, cells left to right (empty cells kept); skip_blank drops
    rows whose every cell is empty."""
    rows = page.evaluate(_ROWS, elem_id)
    return [r for r in rows if any(r)] if skip_blank else rows
