"""The region grammar (samtools'), as the caller and the genotype store read it.

A contig whose name holds ':' is resolved against the contig list as samtools
does; a text that reads both ways is refused; braces name such a contig
explicitly; numbers may carry commas; a span past the contig's end is refused.
"""

import numpy as np
import pytest

from breedhub.base.errors import ArgumentError
from breedhub.base.regions import Region, parse_region, parse_regions
from breedhub.genomics.call import _parse_regions
from breedhub.genomics.store_read import read_dosages
from breedhub.genomics.store_write import write_genotype_store

CONTIGS = {"chr1": 5000, "HLA-A*01:01": 500, "HLA-A*01": 300}


def test_parse_region__grammar():
    assert parse_region("chr1:1,001-2,000", CONTIGS) == Region("chr1", 1001, 2000)
    assert parse_region("chr1", CONTIGS) == Region("chr1")
    assert parse_region("chr1:100", CONTIGS) == Region("chr1", 100, None)
    assert parse_region("{HLA-A*01:01}:10-20", CONTIGS) == Region("HLA-A*01:01", 10, 20)
    assert str(Region("HLA-A*01:01", 10, 20)) == "{HLA-A*01:01}:10-20"


def test_parse_region__a_name_with_a_colon_is_resolved_against_the_contigs():
    contigs = {"chr1": 5000, "HLA-A*01:01": 500}
    assert parse_region("HLA-A*01:01", contigs) == Region("HLA-A*01:01")
    assert parse_region("HLA-A*01:01:10-20", contigs) == Region("HLA-A*01:01", 10, 20)


def test_parse_region__ambiguous_and_bad_regions_are_refused():
    with pytest.raises(ArgumentError, match="ambiguous"):
        parse_region("HLA-A*01:01", CONTIGS)  # the whole contig, or HLA-A*01 at base 1
    with pytest.raises(ArgumentError, match="past the end"):
        parse_region("chr1:1-5,001", CONTIGS)
    with pytest.raises(ArgumentError, match="after end"):
        parse_region("chr1:20-10", CONTIGS)
    with pytest.raises(ArgumentError, match="no contig"):
        parse_region("chr9:1-10", CONTIGS)
    with pytest.raises(ArgumentError, match="overlap"):
        parse_regions(["chr1:1-100", "chr1:50-60"], CONTIGS)


def test_caller_regions__samtools_grammar():
    contigs = {"chr1": 5000, "HLA-A*01:01": 500}
    pieces = _parse_regions(["HLA-A*01:01:10-20", "chr1:1,001-2,000", "{HLA-A*01:01}:100"], contigs)
    assert [(p.contig, p.start, p.end) for p in pieces] == [
        ("chr1", 1001, 2000),
        ("HLA-A*01:01", 10, 20),
        ("HLA-A*01:01", 100, 500),
    ]
    assert [str(p) for p in pieces][1] == "{HLA-A*01:01}:10-20"
    with pytest.raises(ValueError, match="ambiguous"):
        _parse_regions(["HLA-A*01:01"], CONTIGS)
    with pytest.raises(ValueError, match="past the end"):
        _parse_regions(["chr1:1-9,999"], contigs)


@pytest.fixture
def store(tmp_path):
    chrom = np.array(["chr1"] * 3 + ["HLA-A*01:01"] * 3 + ["HLA-A*01"] * 2)
    pos = np.array([100, 1500, 2500, 10, 20, 30, 5, 6])
    gt = np.zeros((8, 2, 2), dtype=np.int8)
    gt[:, 0, 0] = 1
    return write_genotype_store(tmp_path / "g.h5", samples=["a", "b"], chrom=chrom, pos=pos, gt=gt)


def test_store_regions__samtools_grammar(store):
    assert read_dosages(store, region="chr1:1,000-2,000").variant_position.tolist() == [1500]
    assert read_dosages(store, region="{HLA-A*01:01}").variant_position.tolist() == [10, 20, 30]
    assert read_dosages(store, region="{HLA-A*01:01}:15-30").variant_position.tolist() == [20, 30]
    assert read_dosages(store, region="HLA-A*01:5-5").variant_position.tolist() == [5]
    with pytest.raises(ValueError, match="ambiguous"):
        read_dosages(store, region="HLA-A*01:01")  # the contig, or HLA-A*01 at base 1
    with pytest.raises(ValueError, match="after end"):
        read_dosages(store, region="chr1:2,000-1,000")
    with pytest.raises(ValueError, match="no contig"):
        read_dosages(store, region="chr9")


def test_store_regions__past_the_end_of_a_known_contig(tmp_path):
    vcf = tmp_path / "in.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=HLA:1,length=100>\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ts1\n"
        "HLA:1\t10\t.\tA\tG\t.\t.\t.\tGT\t0/1\n"
    )
    from breedhub.genomics.store_vcf import vcf_to_store

    vcf_to_store(vcf, tmp_path / "g.h5")
    assert read_dosages(tmp_path / "g.h5", region="HLA:1:1-100").variant_position.tolist() == [10]
    with pytest.raises(ValueError, match="past the end"):
        read_dosages(tmp_path / "g.h5", region="HLA:1:1-101")
