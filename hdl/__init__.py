"""RTL generator: one :class:`~systolic.config.ArrayConfig` to the Verilog of a systolic GEMM engine.

``dataflow`` (the port table, no heavy imports), ``pe``, ``skew``, ``array``, ``sequencer``, ``top``
(``SystolicTop``), ``generate`` (``verilog_text``, ``write_verilog``), ``lint`` (Verilator waivers).
Nothing is imported here, so reading the port table does not load Amaranth.
"""
