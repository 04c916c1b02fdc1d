"""systolic/accelergy.py: energy tables as Accelergy ERT YAML, round trip and one test per bad input."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from systolic.config import ArrayConfig
from systolic.errors import InputError
from systolic.formats.accelergy import ert_dict, read_ert, write_ert
from systolic.model.energy import ACTIONS, build_table


@pytest.fixture
def table():
    return build_table(ArrayConfig(tech_node_nm=28, vdd_v=0.8, input_bits=6, acc_bits=24))


def _write(tmp_path, data) -> str:
    path = tmp_path / "ERT.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return str(path)


def test_round_trip_is_exact(tmp_path, table):
    path = write_ert(tmp_path / "out" / "ERT.yaml", table, design="tpu")
    back = read_ert(path)
    assert back.keys == table.keys
    np.testing.assert_array_equal(back.energy_pj, table.energy_pj)  # bit for bit
    data = yaml.safe_load(path.read_text())
    assert data["ERT"]["version"] == 0.3
    first = data["ERT"]["tables"][0]
    assert first["name"] == "tpu.mult"
    assert first["actions"][0] == {"name": "multiply", "arguments": None, "energy": table.energy_pj[0]}


def test_accelergy_names_summaries_and_idle_are_read(tmp_path, table):
    data = ert_dict(table)
    tables = data["ERT"]["tables"]
    tables[0]["name"] = "system.PE[0..255].mult"  # Accelergy's flattened names with index ranges
    tables[0]["actions"].append({"name": "idle", "arguments": None, "energy": 0})
    back = read_ert(_write(tmp_path, data))
    np.testing.assert_array_equal(back.energy_pj, table.energy_pj)
    summary = {
        "ERT_summary": {
            "version": 0.3,
            "table_summary": [
                {
                    "name": t["name"],
                    "actions": [{"name": a["name"], "average_energy": a["energy"]} for a in t["actions"]],
                }
                for t in tables
            ],
        }
    }
    np.testing.assert_array_equal(read_ert(_write(tmp_path, summary)).energy_pj, table.energy_pj)


def _bad(tmp_path, table, edit) -> str:
    data = ert_dict(table)
    edit(data)
    path = _write(tmp_path, data)
    with pytest.raises(InputError) as err:
        read_ert(path)
    return str(err.value).replace(path, "ERT.yaml")


def test_missing_top_level_key(tmp_path, table):
    msg = _bad(tmp_path, table, lambda d: d.update({"ERTs": d.pop("ERT")}))
    assert msg == "ERT.yaml: missing key 'ERT' (or 'ERT_summary') at the top level"


def test_missing_tables(tmp_path, table):
    msg = _bad(tmp_path, table, lambda d: d["ERT"].pop("tables"))
    assert msg == "ERT.yaml: ERT: missing key 'tables'"


def test_missing_energy(tmp_path, table):
    msg = _bad(tmp_path, table, lambda d: d["ERT"]["tables"][2]["actions"][1].pop("energy"))
    assert msg == "ERT.yaml: ERT.tables[2].actions[1]: missing key 'energy'"


def test_negative_energy(tmp_path, table):
    msg = _bad(tmp_path, table, lambda d: d["ERT"]["tables"][0]["actions"][0].update(energy=-0.5))
    assert msg == "ERT.yaml: ERT.tables[0].actions[0].energy: energy must not be negative, not -0.5"


def test_non_numeric_energy(tmp_path, table):
    msg = _bad(tmp_path, table, lambda d: d["ERT"]["tables"][3]["actions"][0].update(energy="12 pJ"))
    assert msg == "ERT.yaml: ERT.tables[3].actions[0].energy: energy must be a number of pJ, not '12 pJ'"


def test_unknown_component(tmp_path, table):
    msg = _bad(tmp_path, table, lambda d: d["ERT"]["tables"][1].update(name="systolic.adder"))
    assert msg == (
        "ERT.yaml: ERT.tables[1].name: unknown component 'systolic.adder' (class 'adder' is not one of "
        "mult, acc, fwd, ifmap_sram, filter_sram, ofmap_sram, ctrl, dram)"
    )


def test_unknown_action(tmp_path, table):
    msg = _bad(tmp_path, table, lambda d: d["ERT"]["tables"][0]["actions"][0].update(name="mac"))
    assert msg == "ERT.yaml: ERT.tables[0].actions[0].name: unknown action 'mac' of mult (known: multiply)"


def test_missing_action(tmp_path, table):
    msg = _bad(tmp_path, table, lambda d: d["ERT"]["tables"][-1]["actions"].pop())
    assert msg == "ERT.yaml: ERT.tables: missing action(s) dram.write"


def test_duplicate_action(tmp_path, table):
    msg = _bad(tmp_path, table, lambda d: d["ERT"]["tables"].append(d["ERT"]["tables"][0]))
    assert (
        msg
        == f"ERT.yaml: ERT.tables[{len(set(c for c, _ in ACTIONS))}].actions[0].name: duplicate action 'multiply' of mult"
    )


def test_actions_with_arguments(tmp_path, table):
    msg = _bad(
        tmp_path, table, lambda d: d["ERT"]["tables"][3]["actions"][0].update(arguments={"data_delta": 0})
    )
    assert (
        msg
        == "ERT.yaml: ERT.tables[3].actions[0].arguments: actions with arguments are not supported (one energy per action)"
    )


def test_component_without_actions(tmp_path, table):
    msg = _bad(tmp_path, table, lambda d: d["ERT"]["tables"][4].pop("actions"))
    assert msg == "ERT.yaml: ERT.tables[4]: missing key 'actions'"


def test_malformed_yaml(tmp_path):
    path = _write(tmp_path, "ERT:\n  tables: [\n")
    with pytest.raises(InputError) as err:
        read_ert(path)
    assert str(err.value).replace(path, "ERT.yaml").startswith("ERT.yaml: line 3: malformed YAML:")


def test_missing_file(tmp_path):
    with pytest.raises(InputError) as err:
        read_ert(tmp_path / "nope.yaml")
    assert str(err.value) == f"{tmp_path / 'nope.yaml'}: no such file"
