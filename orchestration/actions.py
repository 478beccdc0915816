"""Operations on flows and their versions, as views and the `flow` command call them.

Each runs in one transaction and writes its audit event (orchestration/events.py) in
that transaction. A published version never changes again; drafts change under an
optimistic revision check so two editors cannot overwrite each other silently.
"""

from __future__ import annotations

import copy
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify

from orchestration import access, events
from orchestration.definitions import DefinitionError, checksum, has_errors
from orchestration.definitions.lint import validate
from orchestration.definitions.problems import Problem, error
from orchestration.definitions.yaml_io import parse_yaml, to_yaml
from orchestration.engine.schedules import sync_schedules
from orchestration.models import Flow, FlowVersion, VersionStatus


class DraftConflict(Exception):
    """The draft was saved by someone else since the editor loaded it."""

    def __init__(self, current_revision: int):
        super().__init__(
            "Someone else saved this draft since you opened it. "
            "Reload to see their changes, then make yours again."
        )
        self.current_revision = current_revision


class VersionLocked(Exception):
    """The version is not in a state that allows this (e.g. editing a published version)."""


def _person(user: Any) -> Any:
    return user if getattr(user, "is_authenticated", False) else None


def _locked(version: FlowVersion) -> FlowVersion:
    return FlowVersion.objects.select_for_update().select_related("flow").get(pk=version.pk)


# Paths under /flows/ that a flow's slug must not take.
RESERVED_SLUGS = frozenset({"new", "import", "editor", "handoff", "api"})


def _unique_slug(name: str) -> str:
    # Slugs take hyphens only (the definition format's rule), so exports import again.
    base = slugify(name).replace("_", "-").strip("-")[:70] or "flow"
    slug, n = base, 1
    while slug in RESERVED_SLUGS or Flow.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def create_flow(
    name: str,
    slug: str = "",
    *,
    owner_team: Group | None = None,
    owner_user: Any = None,
    exception_owner_team: Group | None = None,
    description: str = "",
    created_by: Any = None,
) -> Flow:
    """A new flow without versions; its owners get every permission on it."""
    with transaction.atomic():
        flow = Flow.objects.create(
            name=name,
            slug=slug or _unique_slug(name),
            description=description,
            owner_team=owner_team,
            owner_user=owner_user,
            exception_owner_team=exception_owner_team,
            created_by=_person(created_by),
        )
        access.grant_owner_permissions(flow)
        events.flow_created(flow, created_by)
    return flow


def first_draft(flow: Flow, *, user: Any) -> FlowVersion:
    """A flow's first draft, to draw in the editor: a start and an end, joined (the
    flow's own draft if it has any version already)."""
    with transaction.atomic():
        Flow.objects.select_for_update().filter(pk=flow.pk).first()
        existing = flow.versions.order_by("-number").first()
        if existing is not None:
            return existing
        owner = "system:podium"
        definition = {
            "format": "podium/v1",
            "input_schema": {"type": "object", "properties": {}},
            "steps": [
                {"id": "start", "kind": "start", "label": "Start", "owner": owner,
                 "config": {"triggers": [{"type": "manual"}]}},
                {"id": "done", "kind": "end", "label": "Done", "owner": owner,
                 "config": {"result": "success"}},
            ],
            "connections": [{"from": "start", "to": "done"}],
        }  # fmt: skip
        return FlowVersion.objects.create(
            flow=flow, number=1, definition=definition, created_by=_person(user)
        )


def _resolve_owner(text: Any, field: str) -> tuple[dict[str, Any], list[Problem]]:
    """'team:Finance' -> {"team": Group}; 'user:alex' -> {"user": User}; else a problem."""
    if not text:
        return {}, []
    prefix, _, name = str(text).partition(":")
    if prefix == "team" and (team := Group.objects.filter(name=name).first()):
        return {"team": team}, []
    user_model = get_user_model()
    if prefix == "user" and (person := user_model.objects.filter(username=name).first()):
        return {"user": person}, []
    what = {"team": "a team", "user": "a user"}.get(prefix, "an owner")
    message = f"The {field.replace('_', ' ')} '{text}' names {what} Podium does not know."
    return {}, [error("unknown_owner", message, field=f"flow.{field}")]


def _slug_of(definition: Any) -> str:
    meta = definition.get("flow") if isinstance(definition, dict) else None
    return str(meta.get("slug") or "") if isinstance(meta, dict) else ""


def other_flow_problem(definition: Any, flow: Flow) -> Problem | None:
    """The refusal of a file whose `flow:` block names a flow other than `flow`: put in
    this flow, it would carry the other's name into every export."""
    other = _slug_of(definition)
    if not other or other == flow.slug:
        return None
    message = (
        f"This file is for the flow '{other}', not '{flow.slug}'. Import it from the "
        "Flows page, or change the slug in its flow: block."
    )
    return error("other_flow", message, field="flow.slug")


def flow_block_problems(definition: dict[str, Any]) -> list[Problem]:
    """What importing the file as a flow of its own would refuse in its `flow:` block
    (the lint cannot tell: it needs the teams and people Podium knows)."""
    meta = definition.get("flow")
    if not isinstance(meta, dict) or not meta.get("slug"):
        message = (
            "The file has no 'flow:' block with a slug, so Podium cannot tell which flow it "
            "belongs to. Add one, or import it from the flow's own page."
        )
        return [error("flow_metadata_missing", message, field="flow")]
    slug = str(meta["slug"])
    problems = []
    if slug in RESERVED_SLUGS:
        message = f"The short name '{slug}' is reserved by Podium; choose another."
        problems.append(error("reserved_slug", message, field="flow.slug"))
    elif Flow.objects.filter(slug=slug).exists():
        return []  # it goes into that flow, whose owners are already set
    return problems + [
        problem
        for field in ("owner", "exception_owner")
        # One that is not team:… or user:… at all the schema has already refused.
        if str(meta.get(field, "")).startswith(("team:", "user:"))
        for problem in _resolve_owner(meta[field], field)[1]
    ]


def _flow_from_metadata(meta: dict[str, Any], user: Any, admin: bool) -> Flow:
    owner, owner_problems = _resolve_owner(meta.get("owner"), "owner")
    handler, handler_problems = _resolve_owner(meta.get("exception_owner"), "exception_owner")
    if owner_problems or handler_problems:
        raise DefinitionError(owner_problems + handler_problems)
    if user is not None and not admin and (refused := _owner_refused(owner, user)):
        raise DefinitionError([refused])
    try:
        flow = create_flow(
            meta.get("name") or meta["slug"],
            meta["slug"],
            owner_team=owner.get("team"),
            owner_user=owner.get("user") or _person(user),
            exception_owner_team=handler.get("team"),
            description=meta.get("description", ""),
            created_by=user,
        )
    except IntegrityError:
        # Another import created a flow with this slug since _target_flow looked. Said
        # as a taken name: the importer may not be allowed to see that flow.
        message = (
            f"The short name '{meta['slug']}' is already in use. Choose another in the "
            "file's flow: block."
        )
        raise DefinitionError([error("slug_taken", message, field="flow.slug")]) from None
    if handler.get("user"):
        flow.exception_owner_user = handler["user"]
        flow.save(update_fields=["exception_owner_user"])
    return flow


def _owner_refused(owner: dict[str, Any], user: Any) -> Problem | None:
    """Who may own a flow a person creates: as on the new-flow form, one of their own
    teams (or they themselves), and only people in a team create flows."""
    if user.is_superuser:
        return None
    if not access.may_create_flows(user):
        message = "You are in no team yet, so you cannot create flows. Ask an administrator."
        return error("not_allowed", message, field="flow.owner")
    team, person = owner.get("team"), owner.get("user")
    if (team is not None and not user.groups.filter(pk=team.pk).exists()) or (
        person is not None and person.pk != user.pk
    ):
        message = "A flow you create must be owned by one of your teams, or by you."
        return error("not_allowed", message, field="flow.owner")
    return None


def _target_flow(definition: dict[str, Any], user: Any, admin: bool) -> Flow:
    if refused := flow_block_problems(definition):
        raise DefinitionError(refused)
    meta = definition["flow"]
    flow = Flow.objects.filter(slug=meta["slug"]).first()
    if flow is None:
        return _flow_from_metadata(meta, user, admin)
    if user is not None and not admin and not access.can(user, access.EDIT, flow):
        message = (
            f"The flow '{flow.slug}' exists and you may not edit it."
            if access.can(user, access.VIEW, flow)
            # Said as a taken name: whether a flow one may not see exists is not theirs to know.
            else f"The short name '{flow.slug}' is already in use. Choose another in the "
            "file's flow: block."
        )
        raise DefinitionError([error("not_allowed", message, field="flow.slug")])
    return flow


def _next_number(flow: Flow) -> int:
    return (flow.versions.aggregate(top=Max("number"))["top"] or 0) + 1


def _replace_draft(flow: Flow, definition: dict[str, Any], user: Any) -> FlowVersion:
    # The flow's row is the lock that numbers its versions: without it two imports at
    # once both find no draft and both take the next number.
    Flow.objects.select_for_update().filter(pk=flow.pk).first()
    draft = FlowVersion.objects.select_for_update().filter(flow=flow, status="draft").first()
    if draft is None:
        latest = flow.versions.filter(status=VersionStatus.PUBLISHED).order_by("-number").first()
        number = _next_number(flow)
        try:
            with transaction.atomic():
                return FlowVersion.objects.create(
                    flow=flow,
                    number=number,
                    definition=definition,
                    based_on=latest,
                    created_by=_person(user),
                )
        except IntegrityError:
            # Where rows cannot be locked (SQLite) another request may still have made
            # the flow's one draft in between: the file replaces that draft instead.
            draft = (
                FlowVersion.objects.select_for_update().filter(flow=flow, status="draft").first()
            )
            if draft is None:
                message = (
                    "Someone else changed this flow at the same moment. Import the file again."
                )
                raise DefinitionError([error("import_conflict", message)]) from None
    draft.definition = definition
    draft.revision += 1
    draft.save(update_fields=["definition", "revision", "updated_at"])
    return draft


def import_yaml(
    text: str, *, user: Any, flow: Flow | None = None, admin: bool = False
) -> FlowVersion:
    """Make the YAML the flow's draft (creating the flow from its `flow:` block if needed).

    An invalid file changes nothing: DefinitionError lists every problem. `admin` is the
    server's administrator at the command line (`user` then only names who did it): they
    may create flows owned by anyone.
    """
    definition = parse_yaml(text)
    problems = validate(definition)
    if flow is None and isinstance(definition, dict):
        problems += flow_block_problems(definition)  # listed with the rest, not after
    elif flow is not None and (elsewhere := other_flow_problem(definition, flow)):
        problems.append(elsewhere)
    if has_errors(problems):
        raise DefinitionError(problems)
    with transaction.atomic():
        target = flow or _target_flow(definition, user, admin)
        version = _replace_draft(target, definition, user)
        events.version_imported(version, user, warnings=len(problems))
    return version


def save_draft(
    version: FlowVersion, definition: dict[str, Any], *, user: Any, expected_revision: int
) -> FlowVersion:
    """Store the editor's definition if nobody saved since `expected_revision`."""
    if not isinstance(definition, dict):
        raise DefinitionError([error("schema", "A flow definition must be a set of named fields.")])
    with transaction.atomic():
        current = _locked(version)
        if current.status != VersionStatus.DRAFT:
            raise VersionLocked(
                f"v{current.number} is {current.get_status_display().lower()} and can no longer "
                "change. Create a new draft from it."
            )
        if current.revision != expected_revision:
            raise DraftConflict(current.revision)
        current.definition = definition
        current.revision += 1
        current.save(update_fields=["definition", "revision", "updated_at"])
        events.draft_saved(current, user)
    version.definition, version.revision = current.definition, current.revision
    version.updated_at = current.updated_at
    return current


def publish_version(
    version: FlowVersion, *, user: Any, note: str, admin: bool = False
) -> FlowVersion:
    """Freeze the draft as a published version; refuse while the lint finds errors.
    (`admin`: as for import_yaml.)"""
    with transaction.atomic():
        current = _locked(version)
        if current.status != VersionStatus.DRAFT:
            raise VersionLocked(
                f"v{current.number} is already {current.get_status_display().lower()}."
            )
        problems = validate(current.definition)
        if has_errors(problems):
            raise DefinitionError(problems)
        if not admin and (refused := _subflows_refused(current.definition, user)):
            raise DefinitionError(refused)
        current.status = VersionStatus.PUBLISHED
        current.checksum = checksum(current.definition)
        current.published_by = _person(user)
        current.published_at = timezone.now()
        current.change_note = note
        current.save(
            update_fields=[
                "status", "checksum", "published_by", "published_at", "change_note", "updated_at"
            ]
        )  # fmt: skip
        events.version_published(current, user, warnings=len(problems))
        sync_schedules(current.flow)
    return current


def _subflows_refused(definition: dict[str, Any], user: Any) -> list[Problem]:
    """Sub-flow steps that name a flow the publisher may not start cases of: once
    published, the flow starts them on its own and hands their results to whoever sees
    it. A flow that does not exist gets the same words, so they tell nobody which hidden
    flows do."""
    if user is None:
        return []
    refused = []
    for step in definition.get("steps") or []:
        if not isinstance(step, dict) or step.get("kind") != "subflow":
            continue
        slug = str((step.get("config") or {}).get("flow", ""))
        flow = Flow.objects.filter(slug=slug).first()
        if flow is None or not access.can(user, access.OPERATE, flow):
            message = (
                f"This step starts the flow '{slug}', which does not exist or whose cases "
                "you may not start. Publish that flow first, or ask its owner for the "
                "operate permission."
            )
            refused.append(error("subflow_not_allowed", message, step_id=step.get("id")))
    return refused


def new_draft_from(version: FlowVersion, *, user: Any) -> FlowVersion:
    """A draft copied from `version`; the flow's existing draft if it already has one."""
    flow = version.flow
    existing = flow.versions.filter(status=VersionStatus.DRAFT).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            draft = FlowVersion.objects.create(
                flow=flow,
                number=_next_number(flow),
                definition=copy.deepcopy(version.definition),
                based_on=version,
                created_by=_person(user),
            )
            events.draft_created(draft, user)
    except IntegrityError:
        # Another request created the flow's one draft first; theirs is the draft.
        return flow.versions.get(status=VersionStatus.DRAFT)
    return draft


def retire_version(version: FlowVersion, *, user: Any) -> FlowVersion:
    """No new cases start on a retired version; running cases finish on it."""
    with transaction.atomic():
        current = _locked(version)
        if current.status != VersionStatus.PUBLISHED:
            raise VersionLocked(
                f"Only a published version can be retired; v{current.number} is "
                f"{current.get_status_display().lower()}."
            )
        current.status = VersionStatus.RETIRED
        current.save(update_fields=["status", "updated_at"])
        events.version_retired(current, user)
        sync_schedules(current.flow)
    return current


def _owner_text(team: Group | None, user: Any) -> str | None:
    if team is not None:
        return f"team:{team.name}"
    if user is not None:
        return f"user:{user.get_username()}"
    return None


def flow_metadata(flow: Flow) -> dict[str, Any]:
    """The `flow:` block of an exported file, from the flow as it is now."""
    meta: dict[str, Any] = {"name": flow.name, "slug": flow.slug}
    if flow.description:
        meta["description"] = flow.description
    owner = _owner_text(flow.owner_team, flow.owner_user)
    handler = _owner_text(flow.exception_owner_team, flow.exception_owner_user)
    meta.update({k: v for k, v in (("owner", owner), ("exception_owner", handler)) if v})
    return meta


def export_yaml(version: FlowVersion) -> str:
    """The version as a YAML file that `import_yaml` reads back to the same definition."""
    stored = version.definition.get("flow")
    # A version keeps the `flow:` block it came with, so exporting an old version gives
    # the same file after the flow is renamed; the slug is the flow's, so it imports back
    # into this flow. Versions drawn in the editor have no block: the flow's details fill in.
    meta = (
        {**stored, "slug": version.flow.slug}
        if isinstance(stored, dict)
        else flow_metadata(version.flow)
    )
    return to_yaml({**version.definition, "flow": meta})
