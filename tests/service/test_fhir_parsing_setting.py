"""OSTEO_CDS_FHIR_PARSING: `typed` (the default) reads the resources the rules use with the typed decoding, `strict`
with the R4B models only; both answer the same cards."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from cds_service.config import ConfigError, Settings
from fhir_mappings import typed_decoding
from fhir_mappings.typed_decoding import FhirParsing
from tests.support.golden import normalise_uuids

REPO = Path(__file__).resolve().parents[2]
SERVICE = "/cds-services/osteoporosis-management"


@pytest.mark.parametrize(
    ("raw", "parsing"), [(None, FhirParsing.TYPED), ("typed", FhirParsing.TYPED), ("STRICT", FhirParsing.STRICT)]
)
def test_the_setting_is_read_from_the_environment(raw: str | None, parsing: FhirParsing) -> None:
    env = {"OSTEO_CDS_AUTH_MODE": "development"} | ({"OSTEO_CDS_FHIR_PARSING": raw} if raw is not None else {})
    assert Settings.from_env(env).fhir_parsing is parsing


def test_an_unknown_parsing_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match="OSTEO_CDS_FHIR_PARSING must be 'typed' or 'strict', not 'lenient'"):
        Settings.from_env({"OSTEO_CDS_AUTH_MODE": "development", "OSTEO_CDS_FHIR_PARSING": "lenient"})


def _cards_and_decodes(
    make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch, env: Mapping[str, str]
) -> tuple[Any, int]:
    """The example request's answer, and how many resources the typed decoding was asked for on the way."""
    calls = []
    decode = typed_decoding.decode

    def counted(raw: Mapping[str, Any]) -> Any:
        calls.append(raw.get("resourceType"))
        return decode(raw)

    monkeypatch.setattr(typed_decoding, "decode", counted)
    body = json.loads((REPO / "examples" / "patient-view-request.json").read_text("utf-8"))
    response = make_app(**env).test_client().post(SERVICE, json=body)
    assert response.status_code == 200
    return normalise_uuids(response.get_json()), len(calls)


def test_strict_parsing_never_uses_the_typed_decoding_and_answers_the_same_cards(
    make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    typed, typed_decodes = _cards_and_decodes(make_app, monkeypatch, {})
    strict, strict_decodes = _cards_and_decodes(make_app, monkeypatch, {"FHIR_PARSING": "strict"})

    assert typed_decodes > 0 and strict_decodes == 0
    assert typed["cards"] and typed == strict
