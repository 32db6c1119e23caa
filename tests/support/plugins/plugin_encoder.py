"""A user's plugin (``plugins: [plugin_encoder]``, this folder on ``PYTHONPATH``): a DeepSets entity encoder
registered as ``plugin_deepsets``, whose parameters (``plugin_phi``) show in a checkpoint that it was the one
trained."""

from torch import nn

from agents.nets.encoders import EntityEncoder, masked_mean, register_entity_encoder
from perceiver_rl import zero_masked


@register_entity_encoder("plugin_deepsets")
class PluginDeepSetsEncoder(EntityEncoder):
    def __init__(self, entity_features, config):
        super().__init__(entity_features, config)
        self.plugin_phi = nn.Sequential(nn.Linear(entity_features, config.channels), nn.ReLU())

    def forward(self, entities, mask):
        x = zero_masked(self.plugin_phi(entities), mask)
        return x, masked_mean(x, mask)
