/* The EICAR anti-malware test file (https://www.eicar.org/download-anti-malware-testfile/):
 * harmless by design, detected by every scanner, so scanning pipelines can be tested. */
rule EICAR_Test_File
{
    meta:
        family = "EICAR-Test-File"
        description = "EICAR anti-malware test string"
        test_family = true
    strings:
        $eicar = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
    condition:
        $eicar
}
