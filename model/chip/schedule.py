"""The inter-layer pipeline as a tandem line of servers with finite buffers, solved per batch item with a
max-plus scan over the servers (vectorised over servers and over many mappings at once; never per cycle).

Servers ``j = 0 .. J-1`` take every batch item in order. Server ``j`` needs ``c[j]`` time units per item;
between server ``j`` and ``j + 1`` wait at most ``cap[j]`` finished items (blocking after service: a
server whose output buffer is full keeps its finished item and cannot start the next). With ``S[j, b]``
the start and ``D[j, b]`` the departure of item ``b`` at server ``j`` (items enter at time 0)::

    S[j, b] = max(D[j-1, b], D[j, b-1])                        input there, server free
    D[j, b] = max(S[j, b] + c[j], D[j+1, b - cap[j] - 1])       done, and room behind

(the item ``cap[j] + 1`` places ahead has left server ``j + 1``; ``cap = 0`` is a hand-over). For a fixed
item the second term is known from earlier items, so ``D[j] = max(D[j-1] + c[j], e[j])`` with
``e[j] = max(D[j, b-1] + c[j], D[j+1, b-cap[j]-1])``: a max-plus recurrence whose solution is
``D[j] = C[j] + max over i <= j of (e[i] - C[i])``, ``C`` the running sum of ``c``
(``np.maximum.accumulate``). A Python loop runs over the batch items only.

A compute stage's tiles are then busy during ``[S, S + c]``, blocked (waiting for output space) during
``[S + c, D]`` and starved (a bubble: waiting for input) from ``D[j, b-1]`` to ``S[j, b]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Buffer size standing for "unbounded" (the chip's last stage writes to DRAM).
UNBOUNDED = 1 << 40


@dataclass(frozen=True, eq=False)
class Tandem:
    """Start and departure times ``[mapping, server, item]`` of a tandem line (module docstring)."""

    start: np.ndarray
    depart: np.ndarray
    service: np.ndarray  # [mapping, server]

    @property
    def finish(self) -> np.ndarray:
        """``[mapping, server, item]`` end of the service (before any blocking)."""
        return self.start + self.service[:, :, None]

    @property
    def makespan(self) -> np.ndarray:
        """``[mapping]`` departure of the last item from the last server."""
        return self.depart[:, -1, -1]

    @property
    def latency(self) -> np.ndarray:
        """``[mapping]`` the first item's time through the line."""
        return self.depart[:, -1, 0]


def tandem(service: np.ndarray, cap: np.ndarray, items: int) -> Tandem:
    """Solve the line for ``service[mapping, server]`` and ``cap[mapping, server]`` (the buffer after each
    server; the last server's is ignored) over ``items`` batch items (module docstring)."""
    c = np.atleast_2d(np.asarray(service, dtype=np.float64))  # [mapping, server]
    cap = np.broadcast_to(np.asarray(cap, dtype=np.int64), c.shape)
    n_map, n_srv = c.shape
    start = np.zeros((n_map, n_srv, items))
    depart = np.zeros((n_map, n_srv, items))
    run = np.cumsum(c, axis=1)  # [mapping, server] C
    rows = np.arange(n_map)[:, None]
    for b in range(items):
        free = depart[:, :, b - 1] if b > 0 else np.zeros_like(c)  # [mapping, server]
        back = b - cap[:, :-1] - 1  # [mapping, server - 1] the item whose leaving j + 1 frees room
        room = np.where(back >= 0, depart[rows, np.arange(1, n_srv)[None, :], np.maximum(back, 0)], 0.0)
        room = np.concatenate([room, np.zeros((n_map, 1))], axis=1)  # the last server: never blocked
        e = np.maximum(free + c, room)
        d = run + np.maximum.accumulate(e - run, axis=1)  # D[-1, b] = 0 is inside e[0] >= c[0]
        depart[:, :, b] = d
        arrived = np.concatenate([np.zeros((n_map, 1)), d[:, :-1]], axis=1)
        start[:, :, b] = np.maximum(arrived, free)
    return Tandem(start, depart, c)


def tandem_reference(service, cap, items: int) -> tuple[np.ndarray, np.ndarray]:
    """The same line, item by item and server by server in plain Python (the tests' reference)."""
    c = [float(x) for x in service]
    n = len(c)
    s = [[0.0] * items for _ in range(n)]
    d = [[0.0] * items for _ in range(n)]
    for b in range(items):
        for j in range(n):
            arrived = d[j - 1][b] if j > 0 else 0.0
            free = d[j][b - 1] if b > 0 else 0.0
            s[j][b] = max(arrived, free)
            done = s[j][b] + c[j]
            back = b - int(cap[j]) - 1
            d[j][b] = done if j == n - 1 or back < 0 else max(done, d[j + 1][back])
    # d[j + 1][back] is read before item b reaches j + 1: back < b, so it was set in an earlier pass
    return np.array(s), np.array(d)
