package cli

// The subcommands, by name, in one place rather than registered file by
// file. The table is filled in init: the commands' help (newFlags) reads
// it, so a package-level initializer would be an initialization cycle.
func init() {
	commands = map[string]command{
		// The IRGen pipeline: index a collection in one go or step by step.
		"run":             {"The main job: index Fashion-MNIST and print every method's retrieval quality", runCmd},
		"index":           {"Build a searchable model from a data set: train the tokenizer, assign IDs, train the decoder", indexCmd},
		"train-tokenizer": {"Train the semantic image tokenizer (ViT + residual quantization) on a data set", trainTokenizer},
		"assign":          {"Give every gallery image its semantic ID (and feature) with the trained tokenizer", assign},
		"train-decoder":   {"Train the autoregressive ID decoder on same-class pairs (x1 → ID of x2)", trainDecoder},

		// Using a model: search, serve, evaluate.
		"search": {"Find the gallery images most like the given image files", searchCmd},
		"serve":  {"Serve search by image, live adds and deletes, and a web page over HTTP", serveCmd},
		"eval":   {"Evaluate retrieval methods on the query split: precision, recall, MAP, latency", evalCmd},
		"table":  {"Print one table from the JSON lines of 'irgen eval --json' runs", tableCmd},

		// The seed baselines (002–004) and their tools.
		"build-hnsw":       {"Build and save the HNSW graph over the gallery features (the hnsw method)", buildHNSW},
		"train-bovw":       {"Build the bag-of-visual-words baseline: SIFT vocabulary and gallery histograms (seed 002)", trainBoVW},
		"train-dsi":        {"Train ViT-DSI (seed 002): index the gallery into a ViT encoder-decoder, then fine-tune it for retrieval; methods dsi, dsi-zeroshot", trainDSI},
		"dsi-indexing-acc": {"Measure ViT-DSI's Indexing Accuracy@1/@5: gallery images fed as queries, hit when their own ID comes first / in the top 5", dsiIndexingAcc},
		"train-irt":        {"Fine-tune the ViT with IRT's contrastive loss and entropy regularizer (seed 003) and embed the gallery; methods irt, irt-o", trainIRT},
		"train-mrl":        {"Train a Matryoshka (MRL) embedding, embed the gallery and build its HNSW graph (seed 004)", trainMRL},
		"eval-mrl":         {"Evaluate Matryoshka retrieval (exact per prefix size, adaptive, funnel, HNSW) with seed 004's metrics", evalMRL},
		"embed":            {"Embed the gallery for irt, irt-o, mrl or bovw with split workers into a PostgreSQL catalog (--shard i/N), then write the embeddings to the model (--export)", embedCmd},
	}
}
