package hardware

// CIM ResourceType values (DSP1041, CIM_ResourceAllocationSettingData
// ResourceType) that vSphere exports use.
const (
	TypeProcessor     = 3
	TypeMemory        = 4
	TypeIDEController = 5
	TypeSCSIHBA       = 6 // parallel SCSI HBA: BusLogic, LSI Logic, LSI Logic SAS, PVSCSI
	TypeEthernet      = 10
	TypeFloppy        = 14
	TypeCDDrive       = 15
	TypeDVDDrive      = 16
	TypeDiskDrive     = 17
	TypeOtherStorage  = 20 // SATA (AHCI), NVMe
	TypeSerialPort    = 21
	TypeParallelPort  = 22
	TypeUSBController = 23
	TypeGraphics      = 24
	TypeSound         = 35
)
