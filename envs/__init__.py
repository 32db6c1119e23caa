"""Environments: SC2 minigames (pysc2 adapter + pysc2-protocol simulator), Gym token wrappers, registry.

``import envs`` registers every id of ``envs.ENV_IDS`` with gymnasium, as minigrid and ale_py do, and
cheaply: it imports neither pysc2, Ray nor torch (an id's env module is imported by ``gymnasium.make``).
``envs.register_all()`` also registers the ids with RLlib's tune registry (idempotent);
``envs.contract_of(env)`` gives the ``TokenSpec`` or ``ObservationSpec``/``ActionSpec`` of an env
(:mod:`envs.spec`, the observation and action contract).
"""

from envs.registry import ENV_IDS, NAMESPACE, EnvEntry, contract_of, make_entry, register_all

register_all(rllib=False)

__all__ = ["ENV_IDS", "NAMESPACE", "EnvEntry", "contract_of", "make_entry", "register_all"]
