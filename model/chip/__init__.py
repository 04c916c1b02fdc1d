"""A chip of tiles: per-layer share costs (:mod:`.costs`), mappings and their evaluation
(:mod:`.mapping`), the pipeline as a tandem line (:mod:`.schedule`), power over time and temperature
(:mod:`.thermal`), per-tile DTM (:mod:`.dtm`). Pure functions; no file I/O."""
