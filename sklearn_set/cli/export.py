"""``sklearn-set export``: write a saved model as portable C (``NAME.h`` and
``NAME.c``) with :func:`sklearn_set.export_c`, and print what it takes on
the device: flash for the constant arrays, RAM for the work buffers."""


def run(args):
    import sklearn_set

    from .io import UsageError, last_line, load_model, prepare_output_folder

    try:
        export_c = sklearn_set.export_c
    except AttributeError:
        raise UsageError("this installation of sklearn-set has no C export "
                         "(sklearn_set.export_c)") from None
    model, _ = load_model(args.model, trust_pickle=args.trust_pickle)
    network = model[-1] if hasattr(model, "steps") else model
    topology = getattr(network, "topology_", None)
    if topology is not None and topology["outputs_reached"] == 0 and not args.allow_disconnected:
        raise UsageError(
            f"cannot export {args.model!r}: its network has no path from an input to an "
            f"output ({int(topology['connections'].sum())} connections), so it predicts the "
            "same for every input; train it at a lower sparsity, or pass "
            "--allow-disconnected to export it anyway")
    prepare_output_folder(args.out, "--out folder")
    try:
        exported = export_c(model, args.out, name=args.name,
                            weights="int8" if args.int8 else "float32")
    except (TypeError, ValueError) as exc:  # an estimator or activation it cannot export
        raise UsageError(f"cannot export {args.model!r}: {last_line(exc)}") from None
    print(f"Wrote {exported.header} and {exported.source} "
          f"({'int8' if args.int8 else 'float32'} weights)")
    print(f"  flash  {exported.flash_bytes:>9} bytes  (constant arrays: weights, indices, "
          "biases)")
    print(f"  RAM    {exported.ram_bytes:>9} bytes  (work buffers)", flush=True)
    return 0
