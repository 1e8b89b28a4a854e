"""Generated assets: one record per index, a pure function of (seed, index, type, owning customer).

``Syncro Device`` assets are full RMM agents (``kabuto_information``, ``rmm_store``, ``external_rmm_link``); the
other types carry only the tenant's custom fields in ``properties``. Serials are sometimes missing or junk, and
custom values come in every shape real tenants hold (dates with and without a time, checkboxes as ``"1"`` or
``true``, dropdowns as the label or the answer id, as a string or an int).
"""

from __future__ import annotations

import random
from typing import Any

import orjson

from deskbridge.sandbox.syncro import clock
from deskbridge.sandbox.syncro.catalog import SYNCRO_DEVICE, AssetType, Field
from deskbridge.sandbox.syncro.rand import below, between, pick
from deskbridge.sandbox.syncro.words import (
    AV_PRODUCTS,
    CPUS,
    FIRST_NAMES,
    JUNK_SERIALS,
    LAST_NAMES,
    MACHINES,
    NETWORK_DEVICES,
    OS_NAMES,
    PHONES,
    PRINTERS,
    SERVERS,
)

__all__ = ["ASSET_ID_BASE", "ASSET_ID_STEP", "asset_id", "asset_index", "asset_rng", "generate_asset"]

ASSET_ID_BASE = 7_700_457
ASSET_ID_STEP = 3
ACCOUNT_ID = 72654
_DAY = 86_400_000
_ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"

_TRIGGER_KEYS = (
    "bsod_triggered",
    "time_triggered",
    "no_av_triggered",
    "defrag_triggered",
    "firewall_triggered",
    "app_crash_triggered",
    "low_hd_space_triggered",
    "agent_offline_triggered",
    "smart_failure_triggered",
    "device_manager_triggered",
)
_QUIET_TRIGGERS = orjson.Fragment(orjson.dumps(dict.fromkeys(_TRIGGER_KEYS, "false")))
_EMPTY = orjson.Fragment(b"{}")
_NO_LINKS = orjson.Fragment(b"[]")
_WINDOWS_UPDATES = orjson.Fragment(
    orjson.dumps(
        {
            "wu_schedule": {"day": 0, "hour": 3, "active_start": 8, "active_end": 17},
            "wu_available": None,
            "wu_latest": None,
            "windows_update": "wu_on",
            "wu_error": None,
        }
    )
)
_SNMP_OFF = orjson.Fragment(
    orjson.dumps({"snmp_config": {"port": 161, "enabled": False, "version": 2, "community": "public"}})
)
_SNMP_ON = orjson.Fragment(
    orjson.dumps({"snmp_config": {"port": 161, "enabled": True, "version": 2, "community": "public"}})
)


def asset_id(index: int) -> int:
    """Return the id of the generated asset at ``index``."""
    return ASSET_ID_BASE + ASSET_ID_STEP * index


def asset_index(aid: int, count: int) -> int | None:
    """Return the index of generated asset ``aid``, or None when no generated asset has that id."""
    off = aid - ASSET_ID_BASE
    if off < 0 or off % ASSET_ID_STEP:
        return None
    index = off // ASSET_ID_STEP
    return index if index < count else None


def asset_rng(seed: int, index: int) -> random.Random:
    """Return the random stream of one asset."""
    return random.Random((seed * 1_000_003 + index) * 4 + 2)  # noqa: S311 - test data, not secrets


def _code(rnd: random.Random, n: int) -> str:
    return "".join(rnd.choices(_ALNUM, k=n))


def _mac(rnd: random.Random) -> str:
    h = f"{rnd.getrandbits(48):012X}"
    return f"{h[0:2]}-{h[2:4]}-{h[4:6]}-{h[6:8]}-{h[8:10]}-{h[10:12]}"


def _uuid(rnd: random.Random) -> str:
    h = f"{rnd.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _serial(rnd: random.Random, style: str) -> str | None:
    roll = rnd.random()
    if roll < 0.03:
        return None
    if roll < 0.08 or style == "junk":
        return pick(rnd, JUNK_SERIALS)
    if style == "dell":
        return _code(rnd, 7)
    if style == "hp":
        return f"{pick(rnd, ('2UA', '5CG', 'MXL', 'CZC'))}{between(rnd, 1000, 9999)}{_code(rnd, 3)}"
    if style == "lenovo":
        return f"PF{_code(rnd, 6)}"
    if style == "vmware":
        h = f"{rnd.getrandbits(64):016x}"
        return f"VMware-{' '.join(h[i : i + 2] for i in range(0, 16, 2))}"
    return f"0{between(rnd, 10**11, 10**12)}"


def _custom_value(rnd: random.Random, field: Field) -> Any:
    kind = field.field_type
    if kind == "select_box":
        a_id, label = pick(rnd, field.answers)
        style = field.style if rnd.random() < 0.9 else "label"
        return label if style == "label" else str(a_id) if style == "id_str" else a_id
    if kind == "check_box":
        roll = rnd.random()
        if roll < 0.1:
            return roll < 0.05  # some integrations wrote JSON booleans
        return "1" if roll < 0.6 else "0"
    if kind == "date_field":
        ms = clock.ANCHOR_MS + between(rnd, -4 * 365 * _DAY, 3 * 365 * _DAY)
        return clock.stamp(ms) if rnd.random() < 0.1 else clock.day(ms)
    if kind == "text_area":
        return f"Checked by {pick(rnd, FIRST_NAMES)} on site.\nNo issues." if rnd.random() < 0.7 else ""
    if kind == "web_link":
        return f"https://10.{below(rnd, 256)}.{below(rnd, 256)}.{between(rnd, 2, 250)}/"
    if field.name.endswith("IP") or field.name == "IP Address":
        return f"10.{below(rnd, 256)}.{below(rnd, 256)}.{between(rnd, 2, 250)}"
    if field.name.startswith("IMEI"):
        return f"35{between(rnd, 10**12, 10**13)}"
    if "UUID" in field.name or "GUID" in field.name:
        return _uuid(rnd) if rnd.random() < 0.7 else None
    return f"{pick(rnd, FIRST_NAMES)} {pick(rnd, LAST_NAMES)}" if rnd.random() < 0.5 else _code(rnd, 8)


def _custom_fields(rnd: random.Random, asset_type: AssetType, properties: dict[str, Any]) -> None:
    for field in asset_type.fields:
        roll = rnd.random()
        if roll < 0.15:
            continue  # never set: the key is absent
        properties[field.name] = None if roll < 0.2 else _custom_value(rnd, field)


def _rmm(rnd: random.Random, aid: int, created: int) -> tuple[str, str | None, dict[str, Any], dict[str, Any]]:
    """Return name, serial, properties and rmm_store of an RMM agent."""
    maker, models, style = pick(rnd, MACHINES)
    model = pick(rnd, models)
    roll = rnd.random()
    name = (
        f"DESKTOP-{_code(rnd, 7)}"
        if roll < 0.35
        else f"LAPTOP-{_code(rnd, 8)}"
        if roll < 0.5
        else f"{_code(rnd, 3)}-WS{between(rnd, 1, 400):03d}"
        if roll < 0.85
        else f"P{between(rnd, 10, 99)}{_code(rnd, 4)}"
    )
    serial = _serial(rnd, style)
    os_name, build, release = pick(rnd, OS_NAMES)
    cpu = pick(rnd, CPUS)
    ram = pick(rnd, (4, 8, 8, 16, 16, 32))
    disk = pick(rnd, ("238.47 GB", "465.75 GB", "476.94 GB", "931.51 GB", "1.82 TB"))
    free = between(rnd, 3, 95)
    av = pick(rnd, AV_PRODUCTS)
    macs = [_mac(rnd) for _ in range(between(rnd, 1, 3))]
    ipv4 = f"10.{below(rnd, 256)}.{below(rnd, 256)}.{between(rnd, 2, 250)}"
    gateway = ipv4.rsplit(".", 1)[0] + ".1"
    stale = rnd.random() < 0.08
    synced = clock.ANCHOR_MS - (between(rnd, 30, 400) * _DAY if stale else below(rnd, _DAY))
    boot = synced - between(rnd, 1, 30) * _DAY
    version = f"1.0.{between(rnd, 170, 190)}.0"
    user = f"{name}\\{pick(rnd, FIRST_NAMES).lower()}"
    form = "laptop" if name.startswith("LAPTOP") else "desktop"
    boot_at, synced_at, created_at = clock.utc_stamp(boot), clock.stamp(synced), clock.stamp(created)
    ram_maker = pick(rnd, ("Micron", "Samsung", "SK Hynix", "Kingston"))
    adapter = {"gateway": gateway, "ipv4": ipv4, "name": "Ethernet", "type": "ethernet"}
    info: dict[str, Any] = {
        "last_user": user,
        "ram_gb": ram,
        "general": {
            "name": name,
            "manufacturer": maker,
            "model": model,
            "serial_number": serial or "",
            "ip": f"203.0.113.{between(rnd, 1, 255)}",
            "form_factor": form,
            "domain": "",
            "mac": macs[:1],
            "agent_version": version,
        },
        "os": {
            "name": os_name,
            "last_boot_time": boot_at,
            "build": build,
            "os_architecture": "64-bit",
            "windows_release_version": release,
            "pending_reboot": rnd.random() < 0.1,
        },
        "motherboard": {"name": "Base Board", "manufacturer": maker},
        "cpu": [{"name": cpu, "manufacturer": "AuthenticAMD" if "AMD" in cpu else "GenuineIntel"}],
        "hdd": [{"manufacturer": "NVMe SSD", "size": disk}],
        "network_adapters": [
            {**adapter, "description": "Intel(R) Ethernet Connection", "subnet": "255.255.255.0", "dns1": gateway}
        ],
        "ram": [{"size": f"{ram} GB", "manufacturer": ram_maker}],
        "av": [{"name": av, "version": "No version", "machine_id": None, "instance_id": None}],
        "video_card": [{"name": "Intel(R) UHD Graphics"}],
        "system_partition": {"size_gb": "464", "free_gb": str(464 * free // 100), "free_percent": free},
        "primary_adapter": adapter,
        "install_dates": {"os_install": clock.utc_stamp(created - 30 * _DAY)},
        "monitoring": True,
        "mav": False,
        "last_version": version,
        "device_name": name,
        "last_synced_at": f"{clock.utc_stamp(synced)[:-1]}.000+00:00",
    }
    info_json = orjson.Fragment(orjson.dumps(info))
    properties: dict[str, Any] = {
        "generated_kabuto_customer_id": 1_000_000 + aid // 7,
        "device_name": name,
        "monitoring": True,
        "mav": False,
        "policy_id": None,
        "computer_uuid": _uuid(rnd),
        "kabuto_live_uuid": _uuid(rnd),
        "agent_version": version,
        "live_agent_version": None,
        "profile_folder_size": 0,
        "kabuto_information": info_json,
        "form_factor": f"Physical {form.title()}" if style != "vmware" else "Virtual Machine",
        "manufacturer": maker,
        "model": model,
        "computer_name": name,
        "mac": macs,
        "os": os_name,
        "last_boot": boot_at,
        "cpu_name": cpu,
        "hdd": f"manufacturer:NVMe SSD, size:{disk}",
        "ram": f"size:{ram} GB, manufacturer:{ram_maker}",
        "av": f"name:{av}, version:No version",
        "remote_access": True,
    }
    _custom_fields(rnd, SYNCRO_DEVICE, properties)
    triggers: Any = _QUIET_TRIGGERS
    if stale or rnd.random() < 0.05:
        offline = synced_at.replace("T", " ")[:19]
        fired = dict.fromkeys(_TRIGGER_KEYS, "false")
        fired["agent_offline_triggered"] = (
            f"Asset went offline at {offline} -0600 and is now past the threshold to alert."
        )
        triggers = fired
    rmm_store = {
        "id": 6_000_000 + aid // 3,
        "asset_id": aid,
        "account_id": ACCOUNT_ID,
        "triggers": triggers,
        "windows_updates": _WINDOWS_UPDATES,
        "emsisoft": _EMPTY,
        "general": {
            "info": info_json,
            "recent": {
                "timestamp": synced_at,
                "ram": f"{ram}.00 GB",
                "cpu": cpu,
                "hdd": disk,
                "last_user": user,
            },
        },
        "created_at": created_at,
        "updated_at": synced_at,
        "override_alert_agent_offline_mins": None,
        "override_alert_agent_rearm_after_mins": None,
        "override_low_hd_threshold": None,
        "override_autoresolve_offline_alert": None,
        "override_low_hd_thresholds": None,
    }
    return name, serial, properties, rmm_store


def _plain(rnd: random.Random, asset_type: AssetType) -> tuple[str, str | None]:
    """Return the name and serial of a non-RMM asset."""
    kind = asset_type.name
    if kind == "Printer":
        name = pick(rnd, PRINTERS)[1]
    elif kind == "Network Device":
        maker, model = pick(rnd, NETWORK_DEVICES)
        name = f"{maker} {model}"
    elif kind == "Mobile Phone":
        name = f"{pick(rnd, PHONES)[1]} - {pick(rnd, FIRST_NAMES)}"
    elif kind == "Server":
        maker, model = pick(rnd, SERVERS)
        name = f"{model} ({_code(rnd, 3)}-SRV{between(rnd, 1, 9)})"
    elif kind == "Laptop":
        maker, models, _ = pick(rnd, MACHINES[:5])
        name = f"{models[0]} - {pick(rnd, FIRST_NAMES)} {pick(rnd, LAST_NAMES)}"
    else:
        name = f"{kind} {_code(rnd, 5)}"
    roll = rnd.random()
    serial = None if roll < 0.2 else pick(rnd, JUNK_SERIALS) if roll < 0.25 else _code(rnd, between(rnd, 8, 13))
    return name, serial


def generate_asset(
    seed: int,
    index: int,
    *,
    asset_type: AssetType,
    customer_id: int,
    customer: orjson.Fragment,
    base_url: str,
    count: int,
) -> dict[str, Any]:
    """Return the asset at ``index`` of ``count`` as Syncro's JSON.

    Args:
        seed: The data set's seed.
        index: The asset's index.
        asset_type: Its type (from the store's plan).
        customer_id: The owning customer's id.
        customer: The owning customer's JSON without contacts, embedded as is.
        base_url: The tenant's UI address (``https://sub.syncromsp.com``), for links.
        count: How many assets are generated, to spread creation dates.
    """
    rnd = asset_rng(seed, index)
    aid = asset_id(index)
    created = clock.ANCHOR_MS * index // max(count, 1) + below(rnd, _DAY) - 20 * _DAY
    created = max(created, below(rnd, _DAY))
    updated = created if rnd.random() < 0.25 else created + below(rnd, max(clock.ANCHOR_MS - created, 1))
    created_at = clock.stamp(created)
    rmm = asset_type is SYNCRO_DEVICE
    if rmm:
        name, serial, properties, rmm_store = _rmm(rnd, aid, created)
        link: str | None = f"{base_url}/customer_assets/{aid}"
        links: Any = [
            {"internal_link": link, "teamviewer_link": None, "screenconnect_link": None, "splashtop_link": None}
        ]
    else:
        name, serial = _plain(rnd, asset_type)
        properties = {}
        _custom_fields(rnd, asset_type, properties)
        link, links = None, _NO_LINKS
        rmm_store = {
            "id": 6_000_000 + aid // 3,
            "asset_id": aid,
            "account_id": ACCOUNT_ID,
            "triggers": _QUIET_TRIGGERS,
            "windows_updates": _EMPTY,
            "emsisoft": _EMPTY,
            "general": _EMPTY,
            "created_at": created_at,
            "updated_at": created_at,
            "override_alert_agent_offline_mins": None,
            "override_alert_agent_rearm_after_mins": None,
            "override_low_hd_threshold": None,
            "override_autoresolve_offline_alert": None,
            "override_low_hd_thresholds": None,
        }
    snmp = asset_type.name == "Network Device" and rnd.random() < 0.6
    updated_at = clock.stamp(updated)
    return {
        "id": aid,
        "name": name,
        "customer_id": customer_id,
        "contact_id": None,
        "created_at": created_at,
        "updated_at": updated_at,
        "properties": properties,
        "asset_type": asset_type.name,
        "asset_serial": serial,
        "external_rmm_link": link,
        "customer": customer,
        "rmm_links": links,
        "has_live_chat": False,
        "snmp_enabled": True if snmp else None,
        "device_info": _SNMP_ON if snmp else _SNMP_OFF,
        "since_updated_at": updated_at,
        "rmm_store": rmm_store,
        "address": None,
    }
