package io.kyros.collab;

import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * What {@link Agents#register} records about an agent.
 *
 * <p>Immutable and thread-safe.
 *
 * @param id the agent's id, a name ({@code [A-Za-z0-9][A-Za-z0-9._-]{0,127}}); also the worker identity its claims
 *     carry
 * @param role what it is, 1 to 300 characters (for example {@code reviewer})
 * @param skills the task labels it can take, each a name
 * @param metadata free-form fields (a JSON object's)
 */
public record AgentSpec(String id, String role, Set<String> skills, Map<String, Object> metadata) {

  /**
   * Creates a spec, checking and copying its fields.
   *
   * @param id the agent's id
   * @param role its role
   * @param skills the labels it takes
   * @param metadata free-form fields
   * @throws IllegalArgumentException if the id, the role or a skill is not valid
   * @throws NullPointerException naming it if a reference, a skill, or a metadata key or value is null
   */
  public AgentSpec {
    Names.requireName("agent id", id);
    Names.requireLabel("role", role);
    Objects.requireNonNull(skills, "skills");
    skills.forEach(s -> Names.requireName("skill", s)); // before the copy, which refuses a null naming nothing
    skills = Set.copyOf(skills);
    metadata = Names.copyFields("metadata", metadata);
  }

  /**
   * @param id the agent's id
   * @param role its role
   * @param skills the labels it takes
   * @return a spec without metadata
   * @throws IllegalArgumentException if the id, the role or a skill is not valid, or a skill is given twice
   * @throws NullPointerException naming it if a reference or a skill is null
   */
  public static AgentSpec of(String id, String role, String... skills) {
    Objects.requireNonNull(skills, "skills");
    for (String s : skills) {
      Names.requireName("skill", s);
    }
    return new AgentSpec(id, role, Set.of(skills), Map.of());
  }
}
