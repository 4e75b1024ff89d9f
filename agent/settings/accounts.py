"""The `accounts:` section: where and how `create` makes non-MIS accounts (NM-1)."""

from __future__ import annotations

from dataclasses import dataclass

from agent.core.uid_scheme import template_problems
from agent.settings.reader import Reader


@dataclass(frozen=True)
class AccountSettings:
    """Where and how `create` makes non-MIS accounts (config section `accounts:`).

    `ou`: the container relative to `directory.base_dn` ("" puts accounts in
    the base DN itself). `uid_template`: placeholders {given}, {surname}, {g}
    (the given name's initial) and {type}. `object_classes` and
    `rdn_attribute`: None picks the flavour's usual ones.
    """

    ou: str = "ou=non-mis"
    uid_template: str = "{given}.{surname}"
    uid_max_length: int = 64
    object_classes: tuple[str, ...] | None = None
    rdn_attribute: str | None = None


def parse_accounts(reader: Reader) -> AccountSettings:
    ou = reader.string("ou", "ou=non-mis") or ""
    if ou and not all("=" in part and part.split("=", 1)[1].strip() for part in ou.split(",")):
        reader.fail("ou", f"expected a relative DN such as ou=non-mis, got {ou!r}")
    template = reader.string("uid_template", "{given}.{surname}") or ""
    for problem in template_problems(template):
        reader.fail("uid_template", f"{problem} in {template!r}")
    classes = reader.string_list("object_classes") or None
    settings = AccountSettings(
        ou=ou,
        uid_template=template,
        uid_max_length=reader.integer("uid_max_length", 64, 8, 256),
        object_classes=classes,
        rdn_attribute=reader.string("rdn_attribute"),
    )
    reader.finish()
    return settings
