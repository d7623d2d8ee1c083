# Tina's recipe on each training set Tina ran: Open-RS (RS1's open-s1, RS2, RS3), DeepScaleR, STILL-3, LIMR,
# OpenR1-Math, CuratedThoughts and II-Thought, each as its configuration says (pipelines/recipes/TINA.md). LIMR ships
# in data/sets; the others are imported as data/SOURCES.md says.
GRID := RECIPE=tina-open-rs1,tina-open-rs2,tina-open-rs3,tina-deepscaler,tina-still,tina-limr,tina-openr1,tina-curated-thoughts,tina-ii-thought
