"""The resource service in-process: what callers of ``upsert_many`` and ``write`` (the Desk port) rely on."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from deskbridge.desk import bulk
from deskbridge.desk.assets.models import AssetGroup
from deskbridge.desk.assets.service import AssetGroupResource
from deskbridge.desk.links import service as link_service
from deskbridge.desk.links.models import ExternalLink
from deskbridge.desk.resource import WriteItem
from deskbridge.exceptions import ConflictError
from tests.conftest import Desk, unique


def test_written_items_carry_record_ids(desk: Desk) -> None:
    groups = AssetGroupResource()
    with desk.db.session() as session:
        first = groups.upsert_many(session, items=[{"name": unique("g")}], single=True)[0]
        assert first.created and first.index is None
        written = groups.upsert_many(
            session, items=[{"name": unique("g")}, {"id": first.record_id, "name": unique("g")}, {"name": unique("g")}]
        )
    assert [w.index for w in written] == [0, 1, 2]
    assert [w.created for w in written] == [True, False, True]
    assert written[1].record_id == first.record_id
    assert written[0].record_id < written[2].record_id
    with desk.db.session(write=False) as session:
        for w in written:
            assert session.get(AssetGroup, w.record_id) is not None
            assert session.get(AssetGroup, w.record_id).name == w.data["name"]  # type: ignore[union-attr]


def test_record_id_before_writing_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="not been written"):
        WriteItem(0, {}).record_id  # noqa: B018


def test_a_conflict_leaves_nothing_of_the_write_in_the_transaction(desk: Desk) -> None:
    groups = AssetGroupResource()
    name = unique("g")
    with desk.db.session() as session:
        group_id = groups.upsert_many(session, items=[{"name": name}], single=True)[0].record_id
    with desk.db.session() as session:
        before = session.scalar(select(func.count()).select_from(AssetGroup))
        # The update is flushed before the insert, which the database refuses (no name): neither stays.
        items: list[WriteItem[AssetGroup]] = [WriteItem(0, {"id": group_id, "name": unique("g")}), WriteItem(1, {})]
        with pytest.raises(ConflictError, match="conflicts with stored asset group data"):
            groups.write(session, items)
        # The caller may go on in the same transaction: nothing of the failed write is in it.
        assert session.scalar(select(AssetGroup.name).where(AssetGroup.id == group_id)) == name
        assert session.scalar(select(func.count()).select_from(AssetGroup)) == before


def test_reads_by_id_return_exactly_the_records_asked_for(desk: Desk) -> None:
    # Consecutive ids are read with BETWEEN, scattered ones with IN: neither may leak a neighbour.
    groups = AssetGroupResource()
    with desk.db.session() as session:
        ids = [w.record_id for w in groups.upsert_many(session, items=[{"name": unique("g")} for _ in range(6)])]
        session.add_all(
            ExternalLink(integration="it", entity=groups.name, external_id=f"x{i}", record_id=i) for i in ids
        )
    with desk.db.session(write=False) as session:
        for wanted in ([ids[1], ids[2], ids[4]], [ids[0], ids[5] + 1000], [ids[3]]):
            existing = [i for i in wanted if i in ids]
            rows = bulk.rows_by_id(session, [bulk.table(AssetGroup).c.id], wanted)
            assert sorted(rows) == existing
            links = link_service.external_ids(session, entity=groups.name, record_ids=wanted)
            assert links == {i: {"it": f"x{i}"} for i in existing}


def test_records_created_together_share_their_stamps_and_links_get_theirs(desk: Desk) -> None:
    groups = AssetGroupResource()
    integration = unique("stamps")
    with desk.db.session() as session:
        written = groups.upsert_many(session, items=[{"name": unique("g")} for _ in range(3)])
        ids = [w.record_id for w in written]
        links = [{"integration": integration, "entity": "groups", "external_id": str(i), "record_id": i} for i in ids]
        bulk.insert_many(session, bulk.table(ExternalLink), links)
    with desk.db.session(write=False) as session:
        query = select(AssetGroup.created_at, AssetGroup.updated_at).where(AssetGroup.id.in_(ids))
        stamps = set(session.execute(query))
        linked = list(session.scalars(select(ExternalLink.created_at).where(ExternalLink.integration == integration)))
    assert len(stamps) == 1 and None not in next(iter(stamps))
    assert len(linked) == 3 and None not in linked
