"""RTL generator: one :class:`~systolic.config.ArrayConfig` to the Verilog of a systolic-array accelerator.

``dataflow`` (the RTL's reading of the port table, no heavy imports), ``pe``, ``skew``, ``array``,
``sequencer``, ``engine`` (``GemmEngine``: array, skew and sequencer; Verilog module ``systolic_top``),
``buffer`` (``DoubleBuffer``), ``controller`` (tiles, steps, DRAM fill and drain), ``accel``
(``Accelerator``: the engine with its buffers, controller and DRAM port; module ``systolic_accel``),
``generate`` (``verilog_text``, ``write_verilog``), ``lint`` (Verilator waivers).
hdl depends on the vocabulary only (:mod:`systolic.config`, :mod:`systolic.dataflow`,
:mod:`systolic.geometry`), never on the model. Nothing is imported here, so reading the port table does
not load Amaranth.
"""
