# Tina's one fixed recipe on each training set this repo has a recipe for: open-rs (with Open-RS2's accuracy reward
# and Open-RS3's cosine reward), DeepScaleR, STILL-3 and LIMR (data/SOURCES.md: how to import the sets not shipped).
GRID := RECIPE=tina-open-rs2,tina-open-rs3,tina-deepscaler,tina-still,tina-limr
