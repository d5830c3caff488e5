/* TEST FAMILIES ONLY. These are made-up "malware" families invented for dengbao's own tests
 * (tests/integration/test_image.sh, tests/unit/test_malware.c). They match marker strings no
 * real program contains; they detect nothing in the wild. Every rule carries test_family. */
rule DengbaoTest_Worm_Lateral
{
    meta:
        family = "DengbaoTest.Worm"
        description = "TEST FAMILY: made-up worm marker for spread-correlation tests"
        test_family = true
    strings:
        $marker = "DENGBAO-TEST-WORM-7f3a9c21-LATERAL-MOVEMENT-PAYLOAD"
        $hex = { DB 6B A0 00 7E 57 00 57 0E 4D }
    condition:
        any of them
}

rule DengbaoTest_Miner_Config
{
    meta:
        family = "DengbaoTest.Miner"
        description = "TEST FAMILY: made-up crypto-miner config marker"
        test_family = true
    strings:
        $pool = "stratum+tcp://dengbao-test-pool.invalid:3333"
        $wallet = "DENGBAO-TEST-WALLET-0000000000000000"
    condition:
        all of them
}

rule DengbaoTest_Backdoor_Split
{
    meta:
        family = "DengbaoTest.Backdoor"
        description = "TEST FAMILY: made-up backdoor; two strings within 4 KiB of each other"
        test_family = true
    strings:
        $a = "DENGBAO-TEST-BACKDOOR-HELLO"
        $b = "DENGBAO-TEST-BACKDOOR-C2=198.51.100.7"
    condition:
        $a and $b and @b[1] - @a[1] < 4096 and @b[1] > @a[1]
}
