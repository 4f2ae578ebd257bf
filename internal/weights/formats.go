package weights

// linear names a weight/bias pair relative to the model (or block) prefix.
type linear struct{ w, b string }

// wb is the linear of the pair name.weight, name.bias.
func wb(name string) linear { return linear{name + ".weight", name + ".bias"} }

// layout describes one naming convention. Names are relative to the model
// prefix (for instance "vision_model." or "vit."); block names are
// relative to blockPrefix + "{i}.".
type layout struct {
	format     string
	activation string
	eps        float64

	// patch is the conv weight [D, C, P, P] and its optional bias; its
	// weight name also identifies the convention and its prefix.
	patch    linear
	cls, pos string
	// lead reports cls stored as [1, 1, D] and pos as [1, 1+N, D] (timm,
	// HF ViT) rather than [D] and [1+N, D] (CLIP).
	lead    bool
	preNorm linear // optional; empty when the convention has none
	final   linear

	blockPrefix   string
	ln1, ln2      linear
	qkv           linear // fused [3D, D]; empty when q, k and v are separate
	q, k, v       linear
	out, fc1, fc2 linear

	// ignore lists name prefixes that are not part of the encoder (heads,
	// buffers) and are skipped.
	ignore []string
	// unsupported maps name substrings to the reason irgen refuses them.
	unsupported []unsupported
}

type unsupported struct{ substr, reason string }

// Features of timm/HF checkpoints that change the computation in ways the
// canonical ViT cannot express. Refusing them beats silently computing
// something else.
var (
	distilled = "distilled DeiT checkpoints are not supported (the distillation token changes attention); use the non-distilled model"
	timmOnly  = []unsupported{
		{"dist_token", distilled},
		{"reg_token", "register tokens are not supported"},
		{"fc_norm.", "global-average-pool checkpoints (fc_norm) are not supported; the encoder pools the cls token"},
		{".ls1.", "layer scale (ls1/ls2) is not supported"},
		{".ls2.", "layer scale (ls1/ls2) is not supported"},
		{".q_norm.", "query/key normalisation is not supported"},
		{".k_norm.", "query/key normalisation is not supported"},
		{"attn_pool.", "attention-pool heads are not supported"},
	}
)

var layouts = []*layout{
	{
		format:     FormatCLIP,
		activation: ActQuickGELU,
		eps:        1e-5,
		patch:      wb("embeddings.patch_embedding"),
		cls:        "embeddings.class_embedding",
		pos:        "embeddings.position_embedding.weight",
		preNorm:    wb("pre_layrnorm"),
		final:      wb("post_layernorm"),

		blockPrefix: "encoder.layers.",
		ln1:         wb("layer_norm1"),
		ln2:         wb("layer_norm2"),
		q:           wb("self_attn.q_proj"),
		k:           wb("self_attn.k_proj"),
		v:           wb("self_attn.v_proj"),
		out:         wb("self_attn.out_proj"),
		fc1:         wb("mlp.fc1"),
		fc2:         wb("mlp.fc2"),

		ignore: []string{"embeddings.position_ids"},
	},
	{
		format:     FormatTimm,
		activation: ActGELU,
		eps:        1e-6,
		patch:      wb("patch_embed.proj"),
		cls:        "cls_token",
		pos:        "pos_embed",
		lead:       true,
		preNorm:    wb("norm_pre"), // timm's CLIP ports
		final:      wb("norm"),

		blockPrefix: "blocks.",
		ln1:         wb("norm1"),
		ln2:         wb("norm2"),
		qkv:         wb("attn.qkv"),
		out:         wb("attn.proj"),
		fc1:         wb("mlp.fc1"),
		fc2:         wb("mlp.fc2"),

		ignore:      []string{"head.", "pre_logits."},
		unsupported: timmOnly,
	},
	{
		format:     FormatHFViT,
		activation: ActGELU,
		eps:        1e-12,
		patch:      wb("embeddings.patch_embeddings.projection"),
		cls:        "embeddings.cls_token",
		pos:        "embeddings.position_embeddings",
		lead:       true,
		final:      wb("layernorm"),

		blockPrefix: "encoder.layer.",
		ln1:         wb("layernorm_before"),
		ln2:         wb("layernorm_after"),
		q:           wb("attention.attention.query"),
		k:           wb("attention.attention.key"),
		v:           wb("attention.attention.value"),
		out:         wb("attention.output.dense"),
		fc1:         wb("intermediate.dense"),
		fc2:         wb("output.dense"),

		ignore:      []string{"pooler.", "embeddings.mask_token", "embeddings.position_ids"},
		unsupported: []unsupported{{"embeddings.distillation_token", distilled}},
	},
}
