"""The economy minigames (CollectMineralsAndGas, BuildMarines): SCVs mining, structures, training."""
