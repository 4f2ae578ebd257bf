package weights

// linear names a weight/bias pair relative to the model (or block) prefix.
type linear struct{ w, b string }

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
		patch:      linear{"embeddings.patch_embedding.weight", "embeddings.patch_embedding.bias"},
		cls:        "embeddings.class_embedding",
		pos:        "embeddings.position_embedding.weight",
		preNorm:    linear{"pre_layrnorm.weight", "pre_layrnorm.bias"},
		final:      linear{"post_layernorm.weight", "post_layernorm.bias"},

		blockPrefix: "encoder.layers.",
		ln1:         linear{"layer_norm1.weight", "layer_norm1.bias"},
		ln2:         linear{"layer_norm2.weight", "layer_norm2.bias"},
		q:           linear{"self_attn.q_proj.weight", "self_attn.q_proj.bias"},
		k:           linear{"self_attn.k_proj.weight", "self_attn.k_proj.bias"},
		v:           linear{"self_attn.v_proj.weight", "self_attn.v_proj.bias"},
		out:         linear{"self_attn.out_proj.weight", "self_attn.out_proj.bias"},
		fc1:         linear{"mlp.fc1.weight", "mlp.fc1.bias"},
		fc2:         linear{"mlp.fc2.weight", "mlp.fc2.bias"},

		ignore: []string{"embeddings.position_ids"},
	},
	{
		format:     FormatTimm,
		activation: ActGELU,
		eps:        1e-6,
		patch:      linear{"patch_embed.proj.weight", "patch_embed.proj.bias"},
		cls:        "cls_token",
		pos:        "pos_embed",
		lead:       true,
		preNorm:    linear{"norm_pre.weight", "norm_pre.bias"}, // timm's CLIP ports
		final:      linear{"norm.weight", "norm.bias"},

		blockPrefix: "blocks.",
		ln1:         linear{"norm1.weight", "norm1.bias"},
		ln2:         linear{"norm2.weight", "norm2.bias"},
		qkv:         linear{"attn.qkv.weight", "attn.qkv.bias"},
		out:         linear{"attn.proj.weight", "attn.proj.bias"},
		fc1:         linear{"mlp.fc1.weight", "mlp.fc1.bias"},
		fc2:         linear{"mlp.fc2.weight", "mlp.fc2.bias"},

		ignore:      []string{"head.", "pre_logits."},
		unsupported: timmOnly,
	},
	{
		format:     FormatHFViT,
		activation: ActGELU,
		eps:        1e-12,
		patch:      linear{"embeddings.patch_embeddings.projection.weight", "embeddings.patch_embeddings.projection.bias"},
		cls:        "embeddings.cls_token",
		pos:        "embeddings.position_embeddings",
		lead:       true,
		final:      linear{"layernorm.weight", "layernorm.bias"},

		blockPrefix: "encoder.layer.",
		ln1:         linear{"layernorm_before.weight", "layernorm_before.bias"},
		ln2:         linear{"layernorm_after.weight", "layernorm_after.bias"},
		q:           linear{"attention.attention.query.weight", "attention.attention.query.bias"},
		k:           linear{"attention.attention.key.weight", "attention.attention.key.bias"},
		v:           linear{"attention.attention.value.weight", "attention.attention.value.bias"},
		out:         linear{"attention.output.dense.weight", "attention.output.dense.bias"},
		fc1:         linear{"intermediate.dense.weight", "intermediate.dense.bias"},
		fc2:         linear{"output.dense.weight", "output.dense.bias"},

		ignore:      []string{"pooler.", "embeddings.mask_token", "embeddings.position_ids"},
		unsupported: []unsupported{{"embeddings.distillation_token", distilled}},
	},
}
