"""File formats of the peers and our own: SCALE-Sim, HotSpot, Accelergy, ONNX, network names, calibration."""
