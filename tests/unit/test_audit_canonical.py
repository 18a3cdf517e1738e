"""The audit event's canonical JSON and its hash: plain functions, no database."""

from __future__ import annotations

import hashlib
import json

from hypothesis import given
from hypothesis import strategies as st

from models.audit import GENESIS, canonical_data, canonical_event, event_hash

text = st.text(max_size=40)
maybe = st.none() | text
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)


@given(
    seq=st.integers(min_value=1, max_value=10**12),
    at=text,
    actor=text,
    action=text,
    reason=text,
    lead_id=st.none() | st.integers(min_value=1, max_value=10**12),
    unit=maybe,
    before=maybe,
    after=maybe,
    data=st.dictionaries(text, json_values, max_size=4),
)
def test_canonical_event_is_sorted_compact_json(
    seq, at, actor, action, reason, lead_id, unit, before, after, data
) -> None:
    fields = {
        "seq": seq,
        "at": at,
        "actor": actor,
        "action": action,
        "reason": reason,
        "lead": lead_id,
        "unit": unit,
        "state_before": before,
        "state_after": after,
        "data": data,
        "prev": GENESIS,
    }
    built = canonical_event(
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        reason=reason,
        lead_id=lead_id,
        unit=unit,
        state_before=before,
        state_after=after,
        data=canonical_data(data),
        prev_hash=GENESIS,
    )
    assert built == json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert json.loads(built) == fields


def test_hash_is_sha256_of_utf8_and_changes_with_any_field() -> None:
    base = dict(
        seq=1,
        at="2026-09-03T02:15:00+00:00",
        actor="李晓云",
        action="lead.receive",
        reason="受理",
        lead_id=1,
        unit=None,
        state_before=None,
        state_after="received",
        data='{"external_id":"KM-1"}',
        prev_hash=GENESIS,
    )
    digest = event_hash(canonical_event(**base))
    assert digest == hashlib.sha256(canonical_event(**base).encode("utf-8")).hexdigest()
    for key, other in [
        ("seq", 2),
        ("actor", "尹韶泉"),
        ("reason", "受理 "),
        ("lead_id", 2),
        ("state_after", "triaged"),
        ("data", '{"external_id":"KM-2"}'),
        ("prev_hash", "f" * 64),
        ("at", "2026-09-03T02:15:01+00:00"),
    ]:
        assert event_hash(canonical_event(**{**base, key: other})) != digest, key
