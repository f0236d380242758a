"""The search's population: uniform parent draws, and the lowest score dropped when it is full."""

from __future__ import annotations

import heapq
import random
import statistics

from .space import Cand


class Population:
    """Members in a list (uniform parent draws) and a min-heap on (score, -birth) to drop the worst.

    Ties in score drop the newest member. Keys are unique (births are iteration numbers), so the heap's pops
    do not depend on its internal layout: rebuilding it from the members on resume changes nothing.
    """

    def __init__(self, capacity: int, members: list[tuple[Cand, float, int]]):
        self.capacity = capacity
        self.members = list(members)
        self.pos = {m[0]: i for i, m in enumerate(self.members)}
        self.heap = [(s, -b, c) for c, s, b in self.members]
        heapq.heapify(self.heap)

    def __contains__(self, cand: Cand) -> bool:
        return cand in self.pos

    def __len__(self) -> int:
        return len(self.members)

    def pick(self, rng: random.Random) -> Cand:
        """A member drawn uniformly with `rng`."""
        return self.members[rng.randrange(len(self.members))][0]

    def add(self, cand: Cand, score: float, birth: int) -> None:
        """Insert; if over capacity, drop the lowest (score, -birth), which may be `cand` itself."""
        if len(self.members) < self.capacity:
            heapq.heappush(self.heap, (score, -birth, cand))
        else:
            worst = heapq.heappushpop(self.heap, (score, -birth, cand))[2]
            if worst == cand:
                return
            i = self.pos.pop(worst)
            last = self.members.pop()
            if i < len(self.members):
                self.members[i] = last
                self.pos[last[0]] = i
        self.pos[cand] = len(self.members)
        self.members.append((cand, score, birth))

    def median(self) -> float:
        """The median score of the members."""
        return statistics.median(m[1] for m in self.members)


