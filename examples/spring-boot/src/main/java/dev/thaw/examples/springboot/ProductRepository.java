package dev.thaw.examples.springboot;

import java.util.Collection;
import java.util.List;
import org.springframework.data.jpa.repository.JpaRepository;

/** Spring Data repository of {@link Product}s. */
public interface ProductRepository extends JpaRepository<Product, Long> {

    /**
     * @param skus the SKUs to look up
     * @return the products with one of those SKUs; unknown SKUs are simply absent
     */
    List<Product> findBySkuIn(Collection<String> skus);
}
