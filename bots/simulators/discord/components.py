"""Discord's rules for the components a bot sends: a message's buttons and a modal's text
inputs, refused with Discord's 400 / 50035 at the component's path.

Sources (discord-api-docs, Components > Component Reference,
https://discord.com/developers/docs/components/reference):

- Custom ID: "a string of a maximum of 100 characters"; "Multiple components on the same
  message must not share the same ``custom_id``" (refused as
  ``COMPONENT_CUSTOM_ID_DUPLICATED`` "Component custom id cannot be duplicated", the code
  and text bots' logs show, e.g. "components.0.components.16.components.1.custom_id -
  Component custom id cannot be duplicated").
- Action Row: "Up to 5 contextually grouped buttons", "A single text input".
- Button: ``label`` "max 80 characters"; ``custom_id`` "max 100 characters"; "Non-link and
  non-premium buttons **must** have a ``custom_id``"; styles 1 to 6.
- Text Input: ``custom_id`` max 100; ``style`` 1 or 2; ``label`` max 45; ``min_length``
  "min 0, max 4000"; ``max_length`` "min 1, max 4000"; ``required`` "defaults to
  ``true``"; ``value`` max 4000; ``placeholder`` max 100.
- Modal (Interactions > Receiving and Responding > Modal,
  https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-response-object-modal):
  ``custom_id`` 1 to 100 characters, ``title`` max 45, "Between 1 and 5 (inclusive)
  components". Each is an action row holding one text input (what discord.py 2.7's
  ``ui.TextInput`` sends; Discord now calls it deprecated in modals), a Label (type 18:
  ``label`` max 45, ``description`` max 100, ``component`` a text input, which then has no
  ``label`` of its own) or a Text Display (type 10). Select menus and file uploads in a
  Label are not modelled.

Error texts as Discord words them: a string out of bounds is ``BASE_TYPE_BAD_LENGTH``
"Must be between 1 and 45 in length." (bots' logs: "In data.components.0.components.0.label:
Must be between 1 and 45 in length.") or ``BASE_TYPE_MAX_LENGTH`` "Must be 80 or fewer in
length."; a missing one ``BASE_TYPE_REQUIRED`` "This field is required"; a number out of
range ``NUMBER_TYPE_MIN`` / ``NUMBER_TYPE_MAX`` "int value should be less than or equal to
4000.". Lengths count code points, as Python's ``len`` ("Our API uses Python 3, so the API
calculates length based on the number of codepoints", discord-api-docs issue #1315).
Components v2 (flag ``IS_COMPONENTS_V2``) and select menus are not modelled.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import invalid_form

__all__ = [
    "submission_problem",
    "text_inputs",
    "validate_message_components",
    "validate_modal",
]

ACTION_ROW, BUTTON, TEXT_INPUT, TEXT_DISPLAY, LABEL = 1, 2, 4, 10, 18
LINK, PREMIUM = 5, 6
MAX_CUSTOM_ID = 100
MAX_BUTTON_LABEL = 80
MAX_BUTTONS_PER_ROW = 5
MAX_ROWS = 5
MAX_MODAL_TITLE = 45
MAX_INPUT_LABEL = 45
MAX_INPUT_LENGTH = 4000
MAX_PLACEHOLDER = 100
MAX_LABEL_DESCRIPTION = 100


def _between(value: Any, low: int, high: int, path: str) -> None:
    if not isinstance(value, str) or not low <= len(value) <= high:
        raise invalid_form(
            path, "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length."
        )


def _at_most(value: Any, high: int, path: str) -> None:
    if isinstance(value, str) and len(value) > high:
        raise invalid_form(path, "BASE_TYPE_MAX_LENGTH", f"Must be {high} or fewer in length.")


def _int_within(value: Any, low: int, high: int, path: str) -> None:
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool):
        raise invalid_form(path, "NUMBER_TYPE_COERCE", f'Value "{value}" is not int.')
    if value < low:
        raise invalid_form(
            path, "NUMBER_TYPE_MIN", f"int value should be greater than or equal to {low}."
        )
    if value > high:
        raise invalid_form(
            path, "NUMBER_TYPE_MAX", f"int value should be less than or equal to {high}."
        )


def _rows(rows: Any, path: str, *, low: int) -> list[dict[str, Any]]:
    if not isinstance(rows, list) or not low <= len(rows) <= MAX_ROWS:
        if low:
            raise invalid_form(
                path, "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {MAX_ROWS} in length."
            )
        raise invalid_form(path, "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_ROWS} or fewer in length.")
    for n, row in enumerate(rows):
        if not isinstance(row, dict) or row.get("type") != ACTION_ROW:
            raise invalid_form(f"{path}.{n}.type", "COMPONENT_TYPE_INVALID", "Invalid type.")
    return rows


def validate_message_components(components: Any) -> None:
    """A message's ``components`` (create, edit, interaction responses): action rows of
    buttons. Raises ``ApiError`` 400 / 50035 at the first problem, as Discord does."""
    if components is None:
        return
    seen: set[str] = set()
    for n, row in enumerate(_rows(components, "components", low=0)):
        at = f"components.{n}.components"
        children = row.get("components")
        if not isinstance(children, list) or not 1 <= len(children) <= MAX_BUTTONS_PER_ROW:
            raise invalid_form(
                at,
                "BASE_TYPE_BAD_LENGTH",
                f"Must be between 1 and {MAX_BUTTONS_PER_ROW} in length.",
            )
        for m, child in enumerate(children):
            if isinstance(child, dict) and child.get("type") == BUTTON:
                _check_button(child, f"{at}.{m}", seen)


def _check_button(button: dict[str, Any], at: str, seen: set[str]) -> None:
    style = button.get("style")
    _int_within(style, 1, PREMIUM, f"{at}.style")
    _at_most(button.get("label"), MAX_BUTTON_LABEL, f"{at}.label")
    custom_id = button.get("custom_id")
    if style in (LINK, PREMIUM):
        return
    if not isinstance(custom_id, str) or not custom_id:
        raise invalid_form(f"{at}.custom_id", "BASE_TYPE_REQUIRED", "This field is required")
    _at_most(custom_id, MAX_CUSTOM_ID, f"{at}.custom_id")
    if custom_id in seen:
        raise invalid_form(
            f"{at}.custom_id",
            "COMPONENT_CUSTOM_ID_DUPLICATED",
            "Component custom id cannot be duplicated",
        )
    seen.add(custom_id)


def validate_modal(data: dict[str, Any]) -> None:
    """A MODAL callback's ``data`` (paths under ``data``, as Discord reports them)."""
    _between(data.get("custom_id"), 1, MAX_CUSTOM_ID, "data.custom_id")
    _between(data.get("title"), 1, MAX_MODAL_TITLE, "data.title")
    rows = data.get("components")
    if not isinstance(rows, list) or not 1 <= len(rows) <= MAX_ROWS:
        raise invalid_form(
            "data.components",
            "BASE_TYPE_BAD_LENGTH",
            f"Must be between 1 and {MAX_ROWS} in length.",
        )
    seen: set[str] = set()
    for n, row in enumerate(rows):
        at = f"data.components.{n}"
        kind = row.get("type") if isinstance(row, dict) else None
        if kind == TEXT_DISPLAY:
            continue
        if kind == LABEL:
            assert isinstance(row, dict)
            _between(row.get("label"), 1, MAX_INPUT_LABEL, f"{at}.label")
            _at_most(row.get("description"), MAX_LABEL_DESCRIPTION, f"{at}.description")
            _one_text_input(row.get("component"), f"{at}.component", seen, labelled=True)
            continue
        if kind != ACTION_ROW:
            raise invalid_form(f"{at}.type", "COMPONENT_TYPE_INVALID", "Invalid type.")
        assert isinstance(row, dict)
        children = row.get("components")
        if not isinstance(children, list) or len(children) != 1:
            raise invalid_form(
                f"{at}.components", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 1 in length."
            )
        _one_text_input(children[0], f"{at}.components.0", seen, labelled=False)


def _one_text_input(text_input: Any, at: str, seen: set[str], *, labelled: bool) -> None:
    if not isinstance(text_input, dict) or text_input.get("type") != TEXT_INPUT:
        raise invalid_form(f"{at}.type", "COMPONENT_TYPE_INVALID", "Invalid type.")
    _check_text_input(text_input, at, seen, labelled=labelled)


def _check_text_input(
    text_input: dict[str, Any], at: str, seen: set[str], *, labelled: bool
) -> None:
    custom_id = text_input.get("custom_id")
    _between(custom_id, 1, MAX_CUSTOM_ID, f"{at}.custom_id")
    if custom_id in seen:
        raise invalid_form(
            f"{at}.custom_id",
            "COMPONENT_CUSTOM_ID_DUPLICATED",
            "Component custom id cannot be duplicated",
        )
    seen.add(str(custom_id))
    if text_input.get("style") is None:
        raise invalid_form(f"{at}.style", "BASE_TYPE_REQUIRED", "This field is required")
    _int_within(text_input.get("style"), 1, 2, f"{at}.style")
    if not labelled:  # in a Label, the Label carries it
        _between(text_input.get("label"), 1, MAX_INPUT_LABEL, f"{at}.label")
    _int_within(text_input.get("min_length"), 0, MAX_INPUT_LENGTH, f"{at}.min_length")
    _int_within(text_input.get("max_length"), 1, MAX_INPUT_LENGTH, f"{at}.max_length")
    _at_most(text_input.get("value"), MAX_INPUT_LENGTH, f"{at}.value")
    _at_most(text_input.get("placeholder"), MAX_PLACEHOLDER, f"{at}.placeholder")


def text_inputs(modal: dict[str, Any]) -> list[dict[str, Any]]:
    """A (validated) modal's text inputs, in order: in action rows and in Labels."""
    found: list[dict[str, Any]] = []
    for row in modal.get("components") or []:
        if row.get("type") == LABEL:
            found.append(row["component"])
        elif row.get("type") == ACTION_ROW:
            found.extend(row.get("components") or [])
    return found


def submission_problem(modal: dict[str, Any], values: Mapping[str, str]) -> str | None:
    """Why Discord's client would not let a user submit ``values`` in ``modal`` (a required
    input left empty, a value outside its ``min_length`` / ``max_length``), else None: the
    client enforces these, so a bot never receives such a submission."""
    for text_input in text_inputs(modal):
        custom_id = str(text_input.get("custom_id"))
        value = values.get(custom_id, "")
        if not value:
            if text_input.get("required", True):
                return f"{custom_id!r} is required"
            continue
        low = text_input.get("min_length") or 0
        high = text_input.get("max_length") or MAX_INPUT_LENGTH
        if not low <= len(value) <= high:
            return f"{custom_id!r} takes {low} to {high} characters, not {len(value)}"
    return None
