"""Where cases can go: unreachable steps, endless loops, joins and default paths."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import combinations

from orchestration.definitions.catalog import EXCLUSIVE
from orchestration.definitions.problems import Problem, error, warning
from orchestration.definitions.rules import Subject, config_of, label


def check(subject: Subject) -> Iterator[Problem]:
    yield from _unreachable(subject)
    yield from _endless_cycles(subject)
    yield from _joins(subject)
    yield from _default_paths(subject)


def _reach(subject: Subject, roots: list[str], compensation: bool = True) -> set[str]:
    seen, todo = set(roots), list(roots)
    while todo:
        for target in subject.successors(todo.pop(), compensation):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def _unreachable(subject: Subject) -> Iterator[Problem]:
    start = subject.graph.start_step_id
    if start is None:
        return
    reached = _reach(subject, [start])
    for step in subject.steps:
        if step["id"] not in reached:
            yield warning(
                "unreachable",
                f"{label(step)} cannot be reached from the start: no path leads to it.",
                step_id=step["id"],
            )


def _components(subject: Subject) -> list[list[str]]:
    """Strongly connected components (Tarjan, iterative so long flows cannot overflow)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in subject.graph.step_ids:
        if root in index:
            continue
        work = [(root, iter(subject.successors(root)))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    found.append(component)
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(subject.successors(child))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def _endless_cycles(subject: Subject) -> Iterator[Problem]:
    order = {step_id: i for i, step_id in enumerate(subject.graph.step_ids)}
    ends = [s["id"] for s in subject.steps if s.get("kind") == "end"]
    for component in _components(subject):
        members = set(component)
        looped = len(component) > 1 or component[0] in subject.successors(component[0])
        if not looped:
            continue
        exits = [t for m in component for t in _ways_on(subject, m) if t not in members]
        if any(end in _reach(subject, exits, compensation=False) for end in ends):
            continue
        first = min(component, key=order.__getitem__)
        names = ", ".join(sorted(component, key=order.__getitem__))
        yield error(
            "endless_cycle",
            f"Steps {names} form a loop with no way out to an End step; cases would go round "
            "for ever. Add a path out of the loop.",
            step_id=first,
        )


def _ways_on(subject: Subject, step_id: str) -> list[str]:
    """Where a case goes on from a step when nothing fails: its connections and its
    expiry and timeout paths. Not its error path (a loop left only when a step fails
    goes round for as long as nothing does), nor its compensation step (only a roll-back
    runs that)."""
    step = subject.graph.step(step_id) or {}
    targets = [c["to"] for c in subject.graph.outgoing(step_id)]
    return targets + [
        target
        for field, target in subject.references(step)
        if subject.has(target) and field not in ("on_error", "compensation")
    ]


# A step's error, expiry and timeout paths are alternatives to its connections.
ALTERNATIVE_PATHS = ("on_error", "config.expiry_path", "config.on_timeout")


def _alternatives_into(subject: Subject) -> dict[str, list[tuple[str, int]]]:
    """For each step some other step names as an alternative path: (that step, the path's
    number among its alternatives, counting after its connections)."""
    into: dict[str, list[tuple[str, int]]] = {}
    for step in subject.steps:
        paths = [t for f, t in subject.references(step) if f in ALTERNATIVE_PATHS]
        first = len(subject.graph.outgoing(step["id"]))
        for number, target in enumerate(paths, start=first):
            into.setdefault(target, []).append((step["id"], number))
    return into


class _AlternativePath(dict):
    """A step's error, expiry or timeout path as _origins walks it: a connection from the
    step, with the path's number (a class of its own, so that no field a definition
    gives a connection can pass for one)."""

    def __init__(self, source: str, number: int) -> None:
        super().__init__({"from": source})
        self.number = number


def _origins(
    subject: Subject, connection: dict, into: dict[str, list[tuple[str, int]]] | None = None
) -> set[tuple[str, int, bool]]:
    """The nearest splits upstream of a connection: (split step, its path number, exclusive).
    Given `into` (_alternatives_into), a step with an error, expiry or timeout path counts
    as an exclusive split between its connections and those paths."""
    found: set[tuple[str, int, bool]] = set()
    todo, seen = [connection], set()
    while todo:
        via = todo.pop()
        source = via["from"]
        if isinstance(via, _AlternativePath):  # reached along an alternative path of `source`
            found.add((source, via.number, True))
            continue
        outgoing = subject.graph.outgoing(source)
        step = subject.graph.step(source) or {}
        kind = step.get("kind")
        splits = len(outgoing) > 1 and (kind in EXCLUSIVE or kind == "parallel")
        if into is not None and any(f in ALTERNATIVE_PATHS for f, _ in subject.references(step)):
            found.add((source, outgoing.index(via), True))
        elif splits:
            found.add((source, outgoing.index(via), kind != "parallel"))
        elif kind == "start" or source in seen:
            found.add((source, 0, False))
        else:
            seen.add(source)
            todo.extend(subject.graph.incoming(source))
            if into is not None:
                todo.extend(_AlternativePath(s, n) for s, n in into.get(source, []))
    return found


def _exclusive_split(origins: set[tuple[str, int, bool]]) -> str | None:
    splits = {split for split, _, exclusive in origins if exclusive}
    if len(splits) == 1 and all(exclusive for _, _, exclusive in origins):
        return splits.pop()
    return None


def _joins(subject: Subject) -> Iterator[Problem]:
    start = subject.graph.start_step_id
    # Runs a case makes: a compensation step runs in a roll-back and leads nowhere.
    reached = _reach(subject, [start], compensation=False) if start else set()
    for step in subject.steps:
        if step.get("kind") != "join":
            continue
        config = config_of(step)
        mode, incoming = config.get("mode", "all"), subject.graph.incoming(step["id"])
        wanted = config.get("n")
        dead = sorted({c["from"] for c in incoming if c["from"] not in reached})
        needed = len(incoming) if mode == "all" else wanted if mode == "n" else 1
        if (
            step["id"] in reached
            and dead
            and isinstance(needed, int)
            and len(incoming) - len(dead) < needed
        ):
            names = ", ".join(f"'{d}'" for d in dead)
            why = (
                " (only a roll-back runs a compensation step, and it goes no further)"
                if any(subject.only_compensates(d) for d in dead)
                else ""
            )
            yield error(
                "join_never_fires",
                f"{label(step)} waits for paths from {names}, but no case ever gets "
                f"there{why}, so cases would wait at the join for ever.",
                step_id=step["id"],
            )
            continue
        if mode == "n" and isinstance(wanted, int) and len(incoming) < wanted:
            yield error(
                "join_never_fires",
                f"{label(step)} waits for {wanted} paths, but only {len(incoming)} lead into it.",
                step_id=step["id"],
                field="config.n",
            )
        if _merges_a_loop(subject, step, incoming):
            yield error(
                "join_in_loop",
                f"{label(step)} is where a loop comes back, but a join merges parallel paths "
                "once: cases coming round again would wait there for ever. Let the loop come "
                "back to a step before the join's parallel split, or to a plain step.",
                step_id=step["id"],
            )
        elif mode == "all" or (
            mode == "n" and isinstance(wanted, int) and 1 < wanted <= len(incoming)
        ):
            yield from _exclusive_inputs(subject, step, incoming)


def _merges_a_loop(subject: Subject, step: dict, incoming: list[dict]) -> bool:
    """Whether the join reaches one of its own inputs again without a parallel split on
    the way (going round a whole parallel block, split and join, is fine)."""
    sources = {c["from"] for c in incoming}
    seen: set[str] = set()
    todo = list(subject.successors(step["id"]))
    while todo:
        current = todo.pop()
        if current in sources:
            return True
        if current in seen or current == step["id"]:
            continue
        seen.add(current)
        if (subject.graph.step(current) or {}).get("kind") != "parallel":
            todo.extend(subject.successors(current))
    return False


def _exclusive_inputs(subject: Subject, step: dict, incoming: list[dict]) -> Iterator[Problem]:
    """A join of all with two inputs only one of which can arrive, or a join of N with no
    two inputs that can arrive together, never fires."""
    into = _alternatives_into(subject)
    traces = (
        [_origins(subject, c) for c in incoming],
        [_origins(subject, c, into) for c in incoming],
    )
    pairs = list(combinations(range(len(incoming)), 2))
    exclusive: dict[tuple[int, int], tuple[str, bool]] = {}
    for by_alternatives, origins in enumerate(traces):
        for first, second in pairs:
            split = _exclusive_split(origins[first])
            if split is None or split != _exclusive_split(origins[second]):
                continue
            if {i for _, i, _ in origins[first]}.isdisjoint({i for _, i, _ in origins[second]}):
                exclusive.setdefault((first, second), (split, bool(by_alternatives)))
    waits_for_all = config_of(step).get("mode", "all") == "all"
    if not exclusive or (not waits_for_all and len(exclusive) < len(pairs)):
        return
    split, by_alternatives = next(iter(exclusive.values()))
    waits_for = "all its incoming paths" if waits_for_all else "more than one path"
    chosen = (
        f"either step '{split}' succeeded or it took its error path"
        if by_alternatives
        else f"they are alternatives chosen by step '{split}'"
    )
    yield error(
        "join_never_fires",
        f"{label(step)} waits for {waits_for}, but {chosen}, so only one of them ever "
        "arrives. Set the join to 'any', or split with 'Split in parallel'.",
        step_id=step["id"],
        field="config.mode",
    )


def _default_paths(subject: Subject) -> Iterator[Problem]:
    for step in subject.steps:
        kind = step.get("kind")
        outgoing = subject.graph.outgoing(step["id"])
        open_paths = [c for c in outgoing if not c.get("condition")]
        if kind in EXCLUSIVE and len(open_paths) > 1:
            names = " and ".join(f"'{c['to']}'" for c in open_paths[:2])
            yield error(
                "several_open_paths",
                f"{label(step)} takes only one path, but the connections to {names} have no "
                "condition. Give each a condition, and mark one as the default ('Otherwise').",
                step_id=step["id"],
            )
            continue
        if kind not in EXCLUSIVE or not outgoing or any(c.get("default") for c in outgoing):
            continue
        if kind == "branch" or any(c.get("condition") for c in outgoing):
            yield error(
                "no_default_path",
                f"{label(step)} has no default path: when no condition holds the case would be "
                "stuck. Mark one outgoing connection as the default ('Otherwise').",
                step_id=step["id"],
            )
