"""JSON Schemas of the reviewed data files in codes/ (checked with jsonschema when loaded)."""

from __future__ import annotations

from typing import Any

from .model import DrugClass, Route

_TEXT: dict[str, Any] = {"type": "string", "minLength": 1, "pattern": r"\S"}
_TEXT_LIST: dict[str, Any] = {"type": "array", "items": _TEXT, "minItems": 1}
_ID: dict[str, Any] = {"type": "string", "pattern": r"^[a-z0-9]+(-[a-z0-9]+)*$"}
_CLASS: dict[str, Any] = {"enum": [c.value for c in DrugClass]}
_ROUTE: dict[str, Any] = {"enum": [r.value for r in Route]}
_ID_LIST: dict[str, Any] = {"type": "array", "items": _ID, "minItems": 1, "uniqueItems": True}
_POSITIVE: dict[str, Any] = {"type": "number", "exclusiveMinimum": 0}

INGREDIENTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "ingredients",
        "concept_aliases",
        "products",
        "not_the_drug",
        "class_words",
        "not_the_class",
        "reference_additions",
    ],
    "properties": {
        "ingredients": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": _ID,
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["class", "names", "source"],
                "properties": {
                    "class": _CLASS,
                    "names": _TEXT_LIST,
                    "usual_route": _ROUTE,
                    "systemic_exposure": {"type": "boolean"},
                    "oncology_dose_mg": {
                        "type": "object",
                        "additionalProperties": False,
                        "minProperties": 1,
                        "maxProperties": 1,
                        "properties": {"above": _POSITIVE, "below": _POSITIVE},
                    },
                    "note": _TEXT,
                    "source": _TEXT,
                },
            },
        },
        "concept_aliases": {
            "type": "object",
            "propertyNames": _ID,
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["ingredients", "source"],
                "properties": {"ingredients": _ID_LIST, "source": _TEXT},
            },
        },
        "products": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "ingredients", "source"],
                "properties": {
                    "name": _TEXT,
                    "ingredients": _ID_LIST,
                    "route": _ROUTE,
                    "oncology": {"type": "boolean"},
                    "note": _TEXT,
                    "source": _TEXT,
                },
            },
        },
        "not_the_drug": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["phrase", "ingredient", "reason", "source"],
                "properties": {"phrase": _TEXT, "ingredient": _ID, "reason": _TEXT, "source": _TEXT},
            },
        },
        "class_words": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["phrase", "classes", "source"],
                "properties": {
                    "phrase": _TEXT,
                    "classes": {"type": "array", "items": _CLASS, "minItems": 1, "uniqueItems": True},
                    "note": _TEXT,
                    "source": _TEXT,
                },
            },
        },
        "not_the_class": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["phrase", "reason", "source"],
                "properties": {"phrase": _TEXT, "reason": _TEXT, "source": _TEXT},
            },
        },
        "reference_additions": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["ingredient", "named_as", "reason", "source"],
                "properties": {"ingredient": _ID, "named_as": _TEXT, "reason": _TEXT, "source": _TEXT},
            },
        },
    },
}

FORMS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["dose_forms", "route_words", "route_codes"],
    "properties": {
        "dose_forms": {
            "type": "object",
            "additionalProperties": False,
            "required": ["source", "forms"],
            "properties": {
                "source": _TEXT,
                "forms": {
                    "type": "object",
                    "minProperties": 1,
                    "additionalProperties": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["route"],
                        "properties": {
                            "route": _ROUTE,
                            "group": {"type": "boolean"},
                            "unit_dose": {"type": "boolean"},
                        },
                    },
                },
            },
        },
        "route_words": {
            "type": "object",
            "additionalProperties": False,
            "required": ["source", "words"],
            "properties": {
                "source": _TEXT,
                "words": {
                    "type": "object",
                    "propertyNames": _ROUTE,
                    "additionalProperties": _TEXT_LIST,
                },
            },
        },
        "route_codes": {
            "type": "object",
            "additionalProperties": False,
            "required": ["source", "system", "codes"],
            "properties": {
                "source": _TEXT,
                "system": _TEXT,
                "codes": {
                    "type": "object",
                    "propertyNames": {"pattern": r"^[0-9]+$"},
                    "additionalProperties": _ROUTE,
                },
            },
        },
    },
}

# codes/medications.yaml as this package reads it (code-file.schema.yaml is the whole file's schema).
MEDICATIONS_CODE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["system", "code", "display", "concept", "source"],
    "properties": {
        "system": _TEXT,
        "code": {"type": ["string", "integer"]},
        "display": _TEXT,
        "concept": _ID,
        "source": _TEXT,
        "tty": {
            "enum": [
                "IN",
                "PIN",
                "MIN",
                "BN",
                "SCDC",
                "SBDC",
                "SCDF",
                "SBDF",
                "SCDG",
                "SBDG",
                "SCD",
                "SBD",
                "GPCK",
                "BPCK",
            ]
        },
        "strength_mg": {"anyOf": [_POSITIVE, {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$"}]},
        "dose_form": _TEXT,
        "route": _ROUTE,
        "verified": {"type": "boolean"},
        "note": _TEXT,
    },
}
