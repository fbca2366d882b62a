package engine

import (
	v1 "github.com/pipectl/pipectl/api/v1"
)

// The engine speaks the vocabulary of api/v1: these names keep its code
// and its callers short. The types are v1's, not copies.
type (
	Event           = v1.Event
	EventType       = v1.EventType
	EventSink       = v1.EventSink
	EventFunc       = v1.EventFunc
	Status          = v1.Status
	Outcome         = v1.Outcome
	Phase           = v1.Phase
	Decision        = v1.Decision
	Reason          = v1.Reason
	Addr            = v1.Addr
	Plan            = v1.Plan
	PlannedVariable = v1.PlannedVariable
	PlannedStep     = v1.PlannedStep
	PlannedInstance = v1.PlannedInstance
	PlannedGate     = v1.PlannedGate
	PlannedApproval = v1.PlannedApproval
	Sources         = v1.Sources
	Result          = v1.Result
	GateFailure     = v1.GateFailure
)

const (
	RunStarted           = v1.RunStarted
	PhaseStarted         = v1.PhaseStarted
	StepStarted          = v1.StepStarted
	StepLog              = v1.StepLog
	StepProgress         = v1.StepProgress
	StepArtifact         = v1.StepArtifact
	StepRetrying         = v1.StepRetrying
	StepFinished         = v1.StepFinished
	RunFinished          = v1.RunFinished
	RunCancelling        = v1.RunCancelling
	OutputsFailed        = v1.OutputsFailed
	GateWaiting          = v1.GateWaiting
	GateApproved         = v1.GateApproved
	GateRefused          = v1.GateRefused
	GateRejected         = v1.GateRejected
	GateTimedOut         = v1.GateTimedOut
	GateWindowClosed     = v1.GateWindowClosed
	GateWindowOverridden = v1.GateWindowOverridden
	GatePassed           = v1.GatePassed
	GateStale            = v1.GateStale
	GateAbandoned        = v1.GateAbandoned

	StatusSucceeded       = v1.StatusSucceeded
	StatusFailed          = v1.StatusFailed
	StatusFailedContinued = v1.StatusFailedContinued
	StatusSkipped         = v1.StatusSkipped
	StatusCancelled       = v1.StatusCancelled
	StatusNotRun          = v1.StatusNotRun
	StatusUnchanged       = v1.StatusUnchanged
	statusRunning         = v1.StatusRunning
	statusGateBlocked     = v1.StatusGateBlocked
	StatusParked          = v1.StatusParked
	statusParked          = v1.StatusParked // what the scheduler sees of a step behind a parked gate

	OutcomeUnchanged = v1.OutcomeUnchanged
	OutcomeRestored  = v1.OutcomeRestored
	OutcomeChanged   = v1.OutcomeChanged

	PhaseMain           = v1.PhaseMain
	PhaseStageOnFailure = v1.PhaseStageOnFailure
	PhaseOnFailure      = v1.PhaseOnFailure
	PhaseFinally        = v1.PhaseFinally
	PhaseOnWaiting      = v1.PhaseOnWaiting

	DecisionRun     = v1.DecisionRun
	DecisionSkip    = v1.DecisionSkip
	DecisionUnknown = v1.DecisionUnknown
	DecisionNotRun  = v1.DecisionNotRun

	ReasonWhenFalse         = v1.ReasonWhenFalse
	ReasonStageWhenFalse    = v1.ReasonStageWhenFalse
	ReasonNotStarted        = v1.ReasonNotStarted
	ReasonInstanceWhenFalse = v1.ReasonInstanceWhenFalse
	ReasonUnknownUntilApply = v1.ReasonUnknownUntilApply

	PlanFormatVersion = v1.PlanFormatVersion
	Unknown           = v1.Unknown
)

// StepAddr is the address of a step of the root pipeline.
func StepAddr(name string) Addr { return v1.StepAddr(name) }

// StageAddr is the address of a stage of the root pipeline.
func StageAddr(name string) Addr { return v1.StageAddr(name) }
