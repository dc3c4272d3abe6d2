"""The small science corpus and instructions the search tests share."""

DOC_INSTRUCTION = "Represent the science document for retrieval:"
QUERY_INSTRUCTION = "Represent the science question for retrieving documents:"
DOCS = [
    "Photosynthesis turns light, water and carbon dioxide into sugar and oxygen in plant leaves.",
    "Mitochondria produce most of the chemical energy that powers a cell.",
    "Black holes are regions of spacetime where gravity is so strong nothing escapes.",
    "Vaccines train the immune system to recognise a pathogen before an infection.",
    "Plate tectonics explains earthquakes, volcanoes and the drift of continents.",
    "Qubits hold superpositions of 0 and 1; quantum error correction protects them from noise.",
    "Antibiotics kill bacteria or stop their growth, but do not work against viruses.",
    "The speed of light in vacuum is about 299,792 kilometres per second.",
    "DNA stores genetic information as a sequence of four bases.",
    "Glaciers carve valleys as they slowly flow downhill under their own weight.",
    "Neurons pass signals across synapses with chemical neurotransmitters.",
    "Ocean tides are raised mainly by the Moon's gravity.",
]
QUERIES = ["How do plants make sugar?", "What protects qubits from errors?", "Why are there tides?"]
