"""The registry pattern: a lookup by name imports the entry's own module when the registry knows which it is."""

from __future__ import annotations

import sys

import pytest

from generator.common.registry import Registry


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A package ``regpkg`` of three modules, each registering one entry in ``regpkg.REG`` when imported."""
    root = tmp_path / "regpkg"
    root.mkdir()
    (root / "__init__.py").write_text(
        "from generator.common.registry import Registry\n"
        "REG = Registry('thing', package='regpkg', module_of=lambda name: name.replace('-', '_'))\n")
    for name in ("alpha", "beta_gamma", "delta"):
        entry = name.replace("_", "-")
        (root / f"{name}.py").write_text(f"from regpkg import REG\nREG.register({entry!r}, {name!r})\n")
    # "delta" also registers an entry named after no module
    (root / "delta.py").write_text("from regpkg import REG\nREG.register('delta', 'delta')\nREG.register('odd', 'odd')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for module in [m for m in sys.modules if m == "regpkg" or m.startswith("regpkg.")]:
        del sys.modules[module]


def _imported() -> list[str]:
    return sorted(m for m in sys.modules if m.startswith("regpkg."))


def test_a_lookup_imports_only_the_entry_module(package) -> None:
    import regpkg

    assert regpkg.REG.get("beta-gamma") == "beta_gamma"
    assert _imported() == ["regpkg.beta_gamma"]
    assert regpkg.REG.find("alpha") == "alpha"
    assert _imported() == ["regpkg.alpha", "regpkg.beta_gamma"]


def test_an_entry_outside_its_own_module_or_an_unknown_name_loads_everything(package) -> None:
    import regpkg

    assert regpkg.REG.find("odd") == "odd"
    assert _imported() == ["regpkg.alpha", "regpkg.beta_gamma", "regpkg.delta"]
    with pytest.raises(LookupError, match=r"unknown thing 'nope'.*alpha, beta-gamma, delta, odd"):
        regpkg.REG.get("nope")


@pytest.mark.parametrize("name", ["../x", "a.b", "_private", "", "x y"])
def test_names_that_are_no_module_name_fall_back_to_the_whole_package(package, name) -> None:
    import regpkg

    assert regpkg.REG.find(name) is None
    assert _imported() == ["regpkg.alpha", "regpkg.beta_gamma", "regpkg.delta"]


def test_listing_imports_every_module(package) -> None:
    import regpkg

    assert regpkg.REG.names() == ["alpha", "beta-gamma", "delta", "odd"]


def test_a_registry_without_module_of_loads_the_package_on_first_lookup() -> None:
    registry: Registry[str] = Registry("thing")
    registry.register("a", "A")
    assert registry.get("a") == "A" and registry.find("b") is None
