"""The workload vocabulary and the SCALE-Sim topology readers, with their error messages."""

from __future__ import annotations

import pytest

from systolic.errors import InputError
from systolic.workload import ConvShape, Layer, Workload, read_topology, scalesim_extra, write_gemm_csv

CONV_HEADER = (
    "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,"
)
CONV_HEADER_2 = (
    "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
    "Stride Height, Stride Width,"
)


def write(tmp_path, text, name="net.csv", newline="\n"):
    path = tmp_path / name
    path.write_bytes(text.replace("\n", newline).encode())
    return path


def shapes(wl):
    return [(ly.name, ly.m, ly.n, ly.k, ly.repeat, ly.kind) for ly in wl]


# --------------------------------------------------------------------------- vocabulary


def test_conv_blocks_lower_groups_into_block_diagonal_gemms():
    """8 depthwise channels in blocks of 3: two GEMMs of 3 groups (K = 3 x 9 taps, N = 3 filters) and a
    tail GEMM of the 2 left over; the useful MACs are the convolution's."""
    shape = ConvShape(6, 6, 3, 3, 8, 8, pad_h=1, pad_w=1, groups=8)
    head, tail = Layer.conv_blocks("dw", shape, 3)
    assert (head.name, head.m, head.n, head.k, head.repeat, head.blocks) == ("dw", 36, 3, 27, 2, 3)
    assert (tail.name, tail.m, tail.n, tail.k, tail.repeat, tail.blocks) == ("dw.tail", 36, 2, 18, 1, 2)
    assert head.kind == tail.kind == "depthwise" and head.conv == tail.conv == shape
    assert head.macs + tail.macs == Layer.from_conv("dw", shape).macs == 36 * 9 * 8
    assert head.array_macs == 36 * 3 * 27 * 2  # zeros of B included
    assert Layer.conv_blocks("dw", shape, 1) == (Layer.from_conv("dw", shape),)
    (whole,) = Layer.conv_blocks("dw", shape, 4)  # 4 divides 8: no tail
    assert (whole.n, whole.k, whole.repeat, whole.blocks) == (4, 36, 2, 4)


def test_conv_blocks_of_a_grouped_convolution():
    shape = ConvShape(5, 5, 3, 3, 8, 6, pad_h=1, pad_w=1, groups=2)  # 4 channels, 3 filters per group
    (layer,) = Layer.conv_blocks("g", shape, 2)
    assert (layer.m, layer.n, layer.k, layer.repeat, layer.blocks, layer.kind) == (25, 6, 72, 1, 2, "conv")


def test_a_block_of_groups_is_the_dense_convolution_of_its_channel_slice():
    shape = ConvShape(
        6, 5, 3, 3, 12, 6, stride_h=2, pad_h=1, groups=3, batch=2
    )  # 4 channels, 2 filters a group
    block = shape.block(2)
    assert block == ConvShape(6, 5, 3, 3, 8, 4, stride_h=2, pad_h=1, batch=2)
    (head, tail) = Layer.conv_blocks("g", shape, 2)
    assert (head.k, head.n) == (3 * 3 * block.channels, block.filters)
    assert (tail.k, tail.n) == (3 * 3 * shape.block(1).channels, shape.block(1).filters)


@pytest.mark.parametrize("blocks", [0, 9, 2.0])
def test_conv_blocks_refuses_a_block_size_outside_the_groups(blocks):
    shape = ConvShape(6, 6, 3, 3, 8, 8, groups=8)
    with pytest.raises(InputError, match=r"blocks must be an integer in 1..groups \(8\), not"):
        Layer.conv_blocks("dw", shape, blocks)
    with pytest.raises(InputError, match=r"blocks must be an integer in 1..groups \(8\), not"):
        shape.block(blocks)


def test_layer_blocks_must_divide_k_and_n():
    with pytest.raises(InputError, match=r"blocks \(2\) must divide k \(9\) and n \(2\)"):
        Layer("x", 4, 2, 9, blocks=2)


def test_conv_lowers_to_its_im2col_gemm():
    shape = ConvShape(224, 224, 7, 7, 3, 64, 2, 2, 3, 3, batch=2)
    layer = Layer.from_conv("conv1", shape)
    assert (shape.ofmap_h, shape.ofmap_w) == (112, 112)
    assert (layer.m, layer.n, layer.k, layer.repeat, layer.kind) == (2 * 112 * 112, 64, 7 * 7 * 3, 1, "conv")
    assert layer.macs == 2 * 112 * 112 * 64 * 147


def test_grouped_and_depthwise_convs_are_repeated_gemms():
    grouped = Layer.from_conv("g", ConvShape(10, 10, 3, 3, 8, 16, pad_h=1, pad_w=1, groups=4))
    assert (grouped.m, grouped.n, grouped.k, grouped.repeat, grouped.kind) == (100, 4, 18, 4, "conv")
    dw = Layer.from_conv("dw", ConvShape(10, 10, 3, 3, 8, 8, pad_h=1, pad_w=1, groups=8))
    assert (dw.n, dw.k, dw.repeat, dw.kind) == (1, 9, 8, "depthwise")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"channels": 0}, "channels: channels must be a positive integer, not 0"),
        ({"stride_h": -3}, "stride_h: stride_h must be a positive integer, not -3"),
        ({"pad_w": -1}, "pad_w: pad_w must be a non-negative integer, not -1"),
        ({"groups": 3}, "groups: groups (3) must divide channels (4) and filters (8)"),
        ({"filter_h": 9}, "filter_h: filter_h (9) is larger than the padded ifmap height (7)"),
    ],
)
def test_bad_conv_shapes(kwargs, message):
    base = {
        "ifmap_h": 5,
        "ifmap_w": 5,
        "filter_h": 3,
        "filter_w": 3,
        "channels": 4,
        "filters": 8,
        "pad_h": 1,
        "pad_w": 1,
    }
    with pytest.raises(InputError) as info:
        ConvShape(**{**base, **kwargs})
    assert str(info.value) == message


def test_bad_layers_and_empty_workload():
    with pytest.raises(InputError, match=r"^k: k must be a positive integer, not 0$"):
        Layer("x", 1, 2, 0)
    with pytest.raises(InputError, match=r"kind must be gemm, conv, depthwise or attention, not 'pool'"):
        Layer("x", 1, 2, 3, kind="pool")
    with pytest.raises(InputError, match=r"^name: layer name must be a non-empty string"):
        Layer(" ", 1, 2, 3)
    with pytest.raises(InputError, match=r"^empty: a workload needs at least one layer$"):
        Workload("empty", ())


# --------------------------------------------------------------------------- SCALE-Sim conv CSV


def test_conv_csv_with_one_strides_column(tmp_path):
    path = write(tmp_path, f"{CONV_HEADER}\nConv1,224,224,11,11,3,96,4,\nConv2,27,27,5,5,96,256,1,\n")
    wl = read_topology(path)
    assert wl.name == "net"
    assert shapes(wl) == [
        # SCALE-Sim's arithmetic: ceil((224 - 11 + 4) / 4) = 55 (the last window hangs over the edge)
        ("Conv1", 55 * 55, 96, 11 * 11 * 3, 1, "conv"),
        ("Conv2", 23 * 23, 256, 5 * 5 * 96, 1, "conv"),
    ]
    assert (wl.layers[0].conv.stride_h, wl.layers[0].conv.stride_w) == (4, 4)
    assert (wl.layers[0].conv.extra_h, wl.layers[1].conv.extra_h) == (3, 0)  # zeros past the edge


def test_conv_csv_output_size_is_scalesims():
    """112x112, 3x3, stride 2: SCALE-Sim (topology_utils.py: ceil((H - R + S) / S)) makes 56x56 where
    PyTorch without padding makes 55x55; the CSV means what it means to SCALE-Sim, the zoo keeps PyTorch."""
    assert scalesim_extra(112, 3, 2) == 1 and scalesim_extra(113, 3, 2) == 0 and scalesim_extra(7, 7, 1) == 0
    shape = ConvShape(112, 112, 3, 3, 32, 32, 2, 2, extra_h=1, extra_w=1)
    assert (shape.ofmap_h, shape.ofmap_w) == (56, 56)
    assert (
        ConvShape(112, 112, 3, 3, 32, 32, 2, 2).ofmap_h,
        ConvShape(112, 112, 3, 3, 32, 32, 2, 2, 1, 1).ofmap_h,
    ) == (
        55,
        56,
    )


def test_conv_csv_with_two_stride_columns(tmp_path):
    path = write(tmp_path, f"{CONV_HEADER_2}\nConv1,20,30,3,3,8,16,2,1,\n")
    (layer,) = read_topology(path)
    assert (layer.conv.stride_h, layer.conv.stride_w) == (2, 1)
    assert (layer.m, layer.n, layer.k) == (10 * 28, 16, 72)  # ceil((20 - 3 + 2) / 2) = 10 rows


def test_conv_csv_crlf_and_no_trailing_commas(tmp_path):
    path = write(tmp_path, f"{CONV_HEADER.rstrip(',')}\nConv1,8,8,3,3,4,5,1\n", newline="\r\n")
    assert shapes(read_topology(path)) == [("Conv1", 36, 5, 36, 1, "conv")]


@pytest.mark.parametrize("filters", [1, 2])
def test_depthwise_dp_layers_are_one_gemm_per_channel(tmp_path, filters):
    # SCALE-Sim 2/3 split a layer whose name contains "DP" into one layer per input channel, each with one
    # channel and Num Filter filters.
    path = write(tmp_path, f"{CONV_HEADER}\nConv_DP_1,112,112,3,3,32,{filters},1,\n")
    (layer,) = read_topology(path)
    assert (layer.m, layer.n, layer.k, layer.repeat, layer.kind) == (110 * 110, filters, 9, 32, "depthwise")
    assert layer.macs == 32 * (110 * 110 * 9 * filters)


def test_a_name_without_dp_is_a_dense_conv(tmp_path):
    (layer,) = read_topology(write(tmp_path, f"{CONV_HEADER}\nConv_dp_1,10,10,3,3,32,1,1,\n"))
    assert (layer.n, layer.k, layer.repeat, layer.kind) == (1, 9 * 32, 1, "conv")


# --------------------------------------------------------------------------- GEMM CSV


def test_gemm_csv_with_trailing_commas_and_crlf(tmp_path):
    path = write(tmp_path, "Layer,M,N,K,\nfc1,128,256,64,\nfc2,1,10,256,\n\n", newline="\r\n")
    assert shapes(read_topology(path, name="mlp")) == [
        ("fc1", 128, 256, 64, 1, "gemm"),
        ("fc2", 1, 10, 256, 1, "gemm"),
    ]
    assert read_topology(path, name="mlp").name == "mlp"


def test_gemm_csv_with_spaces_and_a_repeat_column(tmp_path):
    path = write(tmp_path, "Layer, M, N, K, Repeat\nheads, 16, 16, 64, 12\n")
    assert shapes(read_topology(path)) == [("heads", 16, 16, 64, 12, "gemm")]


def test_write_gemm_csv_round_trips(tmp_path):
    wl = Workload("w", (Layer("a", 3, 4, 5), Layer("b", 2, 2, 2, repeat=2)))
    text = write_gemm_csv(wl)
    assert text == "Layer,M,N,K,\na,3,4,5,\nb_0,2,2,2,\nb_1,2,2,2,\n"
    again = read_topology(write(tmp_path, text))
    assert shapes(again) == [
        ("a", 3, 4, 5, 1, "gemm"),
        ("b_0", 2, 2, 2, 1, "gemm"),
        ("b_1", 2, 2, 2, 1, "gemm"),
    ]
    assert again.macs == wl.macs


# --------------------------------------------------------------------------- bad input


def test_missing_file(tmp_path):
    path = tmp_path / "nope.csv"
    with pytest.raises(InputError) as info:
        read_topology(path)
    assert str(info.value) == f"{path}: no such file"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            f"{CONV_HEADER}\nConv1,224,abc,11,11,3,96,4,\n",
            "line 2: IFMAP Width must be an integer, got 'abc'",
        ),
        ("Layer,M,N,K,\nfc,4,x,5,\n", "line 2: N must be an integer, got 'x'"),
        (f"{CONV_HEADER}\nConv1,0,224,11,11,3,96,4,\n", "line 2: ifmap_h must be a positive integer, not 0"),
        (
            f"{CONV_HEADER}\nConv1,224,224,11,11,3,-3,4,\n",
            "line 2: filters must be a positive integer, not -3",
        ),
        ("Layer,M,N,K,\nfc,1,2,3,\nfc2,-3,4,5,\n", "line 3: m must be a positive integer, not -3"),
        ("Layer,M,N,K,\nfc,0,4,5,\n", "line 2: m must be a positive integer, not 0"),
        (
            f"{CONV_HEADER}\nConv1,5,5,11,11,3,96,4,\n",
            "line 2: filter_h (11) is larger than the padded ifmap height (5)",
        ),
        (f"{CONV_HEADER}\nConv1,5,5,3,3,3\n", "line 2: expected 8 columns, got 6"),
        ("Layer,M,N,K,\nfc,4,5\n", "line 2: expected 4 columns (Layer, M, N, K), got 3"),
        ("", "empty topology: no header and no layers"),
        ("\n\n", "empty topology: no header and no layers"),
        (f"{CONV_HEADER}\n", "topology has a header but no layers"),
        (
            "a,b,c\n1,2,3\n",
            "line 1: unrecognised header: expected SCALE-Sim conv columns (Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides[, Stride width]) or GEMM columns (Layer, M, N, K), got 'a,b,c'",
        ),
    ],
)
def test_bad_topologies_name_file_line_and_column(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(InputError) as info:
        read_topology(path)
    assert str(info.value) == f"{path}: {message}"


def test_not_utf8_and_directory(tmp_path):
    path = tmp_path / "bin.csv"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InputError, match=r"bin.csv: not a UTF-8 text file$"):
        read_topology(path)
    with pytest.raises(InputError, match=r": is a directory, not a file$"):
        read_topology(tmp_path)


def test_gemm_csv_round_trip_keeps_names_comma_free(tmp_path):
    from systolic.workload import Layer, Workload, read_topology, write_gemm_csv

    wl = Workload("w", (Layer("a,b", 3, 4, 5), Layer("heads", 2, 2, 2, repeat=2)))
    path = tmp_path / "w.csv"
    path.write_text(write_gemm_csv(wl))
    back = read_topology(path)
    assert [(ly.name, ly.m, ly.n, ly.k) for ly in back] == [
        ("a;b", 3, 4, 5),
        ("heads_0", 2, 2, 2),
        ("heads_1", 2, 2, 2),
    ]
