"""The Deep Learning Applications Lab dashboard: one Gradio tab per lab.

    python app.py [--host 0.0.0.0] [--port 7860] [--share]

Gradio's GRADIO_SERVER_NAME / GRADIO_SERVER_PORT are honoured when the flags are
absent. Each tab module exposes `build()`, called inside its gr.Tab; tabs only lay
out and wire (through labs/ui.py), the work lives in labs/. No tab imports torch
when the page is built: heavy imports happen in handlers (and in `warm_imports`
once the page is served), so the page is served within seconds.
"""

from __future__ import annotations

import argparse
import importlib
import os

import gradio as gr

from labs import ui
from labs.core import speedtest  # no torch at import: it imports the engine when it runs
from labs.ood import tab as ood_tab
from labs.residual import tab as residual_tab
from labs.story import tab as story_tab
from labs.transfer import tab as transfer_tab

TABS = [  # (tab title, module with build())
    ("ResNet replication", residual_tab),
    ("Transfer learning", transfer_tab),
    ("Image story", story_tab),
    ("ODIN", ood_tab),
]

INTRO = """# Deep Learning Applications Lab
Re-run four classic deep-learning labs in the browser: residual connections, transfer learning,
image captioning + story generation, and ODIN out-of-distribution detection.
Every experiment also runs headless: `python -m labs --help`."""

CSS = """
.labs-note {font-size: 0.92em; opacity: 0.85}
"""


def build_demo() -> gr.Blocks:
    with gr.Blocks(title="Deep Learning Applications Lab") as demo:
        gr.Markdown(INTRO)
        with gr.Tabs():
            for title, module in TABS:
                with gr.Tab(title) as tab:
                    module.build(tab)  # a tab may draw when it is opened (tab.select)
        demo.unload(ui.end_session)  # a closed page stops its jobs; public mode deletes the models it trained
    demo.queue(default_concurrency_limit=2)
    return demo


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 0)) or None,
                        help="default: GRADIO_SERVER_PORT, else the first free port from 7860")
    parser.add_argument("--share", action="store_true", help="also open a public gradio.live link")
    args = parser.parse_args(argv)
    demo = build_demo()
    demo.launch(server_name=args.host, server_port=args.port, share=args.share, theme=gr.themes.Soft(), css=CSS,
                max_file_size=ui.MAX_FILE_SIZE, prevent_thread_lock=True)
    warm_imports()
    speedtest.ensure()  # once per machine: estimates start from this machine's speed, not a reference figure
    demo.block_thread()


def warm_imports() -> None:
    """Import torch and the experiment modules now, in the main thread, while the page is already served:
    the first click then starts training at once, and no two worker threads race on a first import
    (a lazy first import racing another one in a worker thread can deadlock)."""
    for module in ("labs.core.engine", "labs.residual.experiment", "labs.transfer.experiment", "labs.ood.experiment",
                   "sklearn.metrics"):
        importlib.import_module(module)


if __name__ == "__main__":
    main()
