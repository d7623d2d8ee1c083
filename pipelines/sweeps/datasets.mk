# Tina's one fixed recipe on five training sets: Open-RS, DeepScaleR, STILL-3, LIMR and OpenR1-Math (each recipe
# differs only where docs/facts.md says the paper's runs did: G, and STILL's length reward). LIMR ships in
# data/sets; the others are imported as data/SOURCES.md says.
GRID := RECIPE=tina-open-rs2,tina-deepscaler,tina-still,tina-limr,tina-openr1
