"""Environments: SC2 minigames (pysc2 adapter + pysc2-protocol simulator), Gym token wrappers, registry.

``envs.register_all()`` registers every id of ``envs.ENV_IDS`` with gymnasium and RLlib (idempotent);
``envs.contract_of(env)`` gives the ``TokenSpec`` or ``ObservationSpec``/``ActionSpec`` of an env.
"""

from envs.registry import ENV_IDS, NAMESPACE, EnvEntry, contract_of, make_entry, register_all

__all__ = ["ENV_IDS", "NAMESPACE", "EnvEntry", "contract_of", "make_entry", "register_all"]
