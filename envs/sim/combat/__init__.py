"""The combat maps (DefeatRoaches, DefeatZerglingsAndBanelings, FindAndDefeatZerglings): two players' units."""
