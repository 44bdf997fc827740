"""Converting between stored questions and their specs, and reading a spec from JSON."""

from collections.abc import Mapping
from typing import Any

from sonda.core.errors import FieldError, ValidationFailed
from sonda.surveys.definition import ConditionSpec, OptionSpec, QuestionSpec
from sonda.surveys.models import Question


def spec_of(question: Question) -> QuestionSpec:
    condition = question.condition
    return QuestionSpec(
        key=question.key,
        kind=question.kind,
        text=question.text,
        required=question.required,
        page=question.page,
        help_text=question.help_text or {},
        scale_min=question.scale_min,
        scale_max=question.scale_max,
        scale_labels=question.scale_labels or {},
        options=tuple(
            OptionSpec(code=o["code"], labels=o.get("labels", {}), problem=o.get("problem", ""))
            for o in question.options or []
        ),
        competitor=question.competitor,
        max_length=question.max_length,
        condition=(
            ConditionSpec(
                question=condition["question"], op=condition["op"], value=condition["value"]
            )
            if condition
            else None
        ),
    )


def question_fields(spec: QuestionSpec) -> dict[str, Any]:
    """The model fields of a stored question for this spec (scale defaults filled in)."""
    scale = spec.scale()
    return {
        "key": spec.key,
        "kind": spec.kind,
        "page": spec.page,
        "required": spec.required,
        "text": dict(spec.text),
        "help_text": dict(spec.help_text),
        "scale_min": scale[0] if scale else spec.scale_min,
        "scale_max": scale[1] if scale else spec.scale_max,
        "scale_labels": {end: dict(labels) for end, labels in spec.scale_labels.items()},
        "options": [
            {"code": o.code, "labels": dict(o.labels), "problem": o.problem} for o in spec.options
        ],
        "competitor": spec.competitor,
        "max_length": spec.max_length,
        "condition": spec.condition.as_json() if spec.condition else None,
    }


def _texts(value: Any, where: str, errors: list[FieldError]) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        errors.append(FieldError(where, "must be an object of texts by language"))
        return {}
    return dict(value)


def spec_from_json(data: Any, *, index: int) -> QuestionSpec:
    """A question spec from a JSON object (API, builder form, demo); errors name the field."""
    where = f"questions[{index}]"
    if not isinstance(data, Mapping):
        raise ValidationFailed.on(where, "must be an object")
    known = {
        "key",
        "kind",
        "text",
        "required",
        "page",
        "help_text",
        "scale_min",
        "scale_max",
        "scale_labels",
        "options",
        "competitor",
        "max_length",
        "condition",
    }
    errors = [FieldError(f"{where}.{k}", "unknown field") for k in data if k not in known]
    for name in ("key", "kind"):
        if not isinstance(data.get(name), str):
            errors.append(FieldError(f"{where}.{name}", "is required"))
    options = []
    for o_index, option in enumerate(data.get("options") or []):
        o_where = f"{where}.options[{o_index}]"
        if not isinstance(option, Mapping) or not isinstance(option.get("code"), str):
            errors.append(FieldError(f"{o_where}.code", "is required"))
            continue
        options.append(
            OptionSpec(
                code=option["code"],
                labels=_texts(option.get("labels"), f"{o_where}.labels", errors),
                problem=str(option.get("problem", "")),
            )
        )
    condition = data.get("condition")
    condition_spec = None
    if condition is not None:
        if not isinstance(condition, Mapping) or not {"question", "op", "value"} <= set(condition):
            errors.append(FieldError(f"{where}.condition", "needs question, op and value"))
        else:
            condition_spec = ConditionSpec(
                question=str(condition["question"]),
                op=str(condition["op"]),
                value=condition["value"],
            )
    ints = {}
    for name in ("page", "scale_min", "scale_max", "max_length"):
        value = data.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            errors.append(FieldError(f"{where}.{name}", "must be a whole number"))
            value = None
        ints[name] = value
    scale_labels_raw = data.get("scale_labels") or {}
    scale_labels = {}
    if isinstance(scale_labels_raw, Mapping):
        for end, labels in scale_labels_raw.items():
            if end not in {"min", "max"}:
                errors.append(FieldError(f"{where}.scale_labels.{end}", "only min and max"))
                continue
            scale_labels[end] = _texts(labels, f"{where}.scale_labels.{end}", errors)
    else:
        errors.append(FieldError(f"{where}.scale_labels", "must be an object"))
    spec = QuestionSpec(
        key=str(data.get("key", "")),
        kind=str(data.get("kind", "")),
        text=_texts(data.get("text"), f"{where}.text", errors),
        required=bool(data.get("required", False)),
        page=ints["page"] or 1,
        help_text=_texts(data.get("help_text"), f"{where}.help_text", errors),
        scale_min=ints["scale_min"],
        scale_max=ints["scale_max"],
        scale_labels=scale_labels,
        options=tuple(options),
        competitor=str(data.get("competitor", "")),
        max_length=ints["max_length"],
        condition=condition_spec,
    )
    if errors:
        raise ValidationFailed("The survey definition is not valid.", errors=errors)
    return spec
