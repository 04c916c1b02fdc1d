"""Distributed LLM training and inference: many devices, parallel plans, networks and memory footprints.

Pure functions of a model (:class:`systolic.llm_spec.ModelSpec`), a system's numbers
(:func:`.hardware.resolve`) and parallel plans, vectorised over plans: :mod:`.training`,
:mod:`.inference`, :mod:`.search`. No file I/O here; the system files are read by ``systolic.llm_spec``.
"""
