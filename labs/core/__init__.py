"""Machinery shared by every lab: data, models, the training engine, checkpoints, metrics, plots.

No Gradio imports here, and no imports of any lab.
"""
